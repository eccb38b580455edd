// Package procstat reads the CPU time of processes from /proc, for the
// benchmarks that report CPU per message of Tidings' own processes and of
// the servers it uses (PostgreSQL, Redis) beside their throughput. Every
// reading is 0 (or empty) where /proc cannot tell: another OS, or a process
// that is gone.
package procstat

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times (100 on Linux).
const clockTicks = 100

// Process is a process and the user+system CPU time it has used so far.
type Process struct {
	Pid  int
	Comm string // the command name, at most 15 bytes
	CPU  time.Duration
}

// CPU returns the CPU time the process pid has used so far.
func CPU(pid int) time.Duration {
	p, _ := read(pid)
	return p.CPU
}

// List returns the processes of this machine whose command name is one of
// comms ("postgres", "redis-server").
func List(comms ...string) []Process {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Process
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if p, ok := read(pid); ok && slices.Contains(comms, p.Comm) {
			out = append(out, p)
		}
	}
	return out
}

// CPUOf returns the CPU time used so far by the processes List(comms...)
// finds. A server's processes work for every client, so on a busy machine
// it is an upper bound of one client's share (PostgresBackends is not).
func CPUOf(comms ...string) time.Duration {
	var total time.Duration
	for _, p := range List(comms...) {
		total += p.CPU
	}
	return total
}

// read parses /proc/<pid>/stat: the command name and utime+stime.
func read(pid int) (Process, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Process{}, false
	}
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Process{}, false
	}
	f := strings.Fields(s[end+1:]) // f[0] is the state (field 3); utime, stime are fields 14, 15
	if len(f) < 13 {
		return Process{}, false
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return Process{Pid: pid, Comm: s[open+1 : end], CPU: time.Duration(u+st) * time.Second / clockTicks}, true
}

// Backends is the CPU used so far by PostgreSQL backends, by pid.
type Backends map[int]time.Duration

// PostgresBackends finds the PostgreSQL backends that serve the TCP
// connections of the client processes pids (this process when none is
// given): a backend's command line names its client's port, "postgres:
// user db 127.0.0.1(port) ...". Unlike CPUOf("postgres") it leaves out what
// other clients of the server cost. A reading misses a backend whose
// connection closed before it, and the server's shared work (WAL writer,
// checkpointer).
func PostgresBackends(pids ...int) Backends {
	if len(pids) == 0 {
		pids = []int{os.Getpid()}
	}
	ports := map[string]bool{}
	for _, pid := range pids {
		tcpPorts(pid, ports)
	}
	out := Backends{}
	for _, p := range List("postgres") {
		cmd, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/cmdline")
		if err != nil {
			continue
		}
		line := string(cmd)
		open, end := strings.IndexByte(line, '('), strings.IndexByte(line, ')')
		if open >= 0 && end > open && ports[line[open+1:end]] {
			out[p.Pid] = p.CPU
		}
	}
	return out
}

// Since is the CPU the backends used after before (a backend that started
// since then counts whole).
func (now Backends) Since(before Backends) time.Duration {
	var d time.Duration
	for pid, cpu := range now {
		d += cpu - before[pid]
	}
	return d
}

// tcpPorts adds the local ports (in decimal) of the process pid's TCP
// sockets to ports.
func tcpPorts(pid int, ports map[string]bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	inodes := map[string]bool{}
	fds, _ := os.ReadDir(dir + "/fd")
	for _, fd := range fds {
		target, err := os.Readlink(dir + "/fd/" + fd.Name())
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	for _, table := range []string{dir + "/net/tcp", dir + "/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line) // local_address is f[1] (hex ip:port), inode f[9]
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			if i := strings.LastIndexByte(f[1], ':'); i >= 0 {
				if port, err := strconv.ParseInt(f[1][i+1:], 16, 64); err == nil {
					ports[strconv.FormatInt(port, 10)] = true
				}
			}
		}
	}
}
