package cluster

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/internal/redisserver"
	"github.com/tidings-crm/tidings/internal/wait"
)

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// Binary builds the tidings command once per test binary (go build into a
// temporary folder) and returns its path. RunTests removes the folder.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "tidings-cluster-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "tidings")
		cmd := exec.Command("go", "build", "-o", build.bin, "github.com/tidings-crm/tidings/cmd/tidings")
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build ./cmd/tidings: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatalf("cluster: %v", build.err)
	}
	return build.bin
}

// RunTests runs the tests of a package that uses this harness (call it from
// TestMain) and removes the binary Binary built and the PostgreSQL cluster
// SharedDatabase started.
func RunTests(m *testing.M) int {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	if shared.pg != nil {
		shared.pg.remove()
	}
	return code
}

// Process is one running (or stopped) tidings process: worker, scheduler or
// serve. Its stdout and stderr go to a log file in the cluster's folder,
// printed when the test fails.
type Process struct {
	Name string // worker-1, scheduler-2, serve-1, ...
	Role string // worker | scheduler | serve
	// HTTPAddr is where a serve process listens (host:port); "" otherwise.
	HTTPAddr string

	c       *Cluster
	env     []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts a tidings process with the cluster's environment plus extra
// (KEY=value entries, which win). role is worker, scheduler or serve.
func (c *Cluster) Start(role string, extra ...string) *Process {
	c.t.Helper()
	c.mu.Lock()
	c.seq[role]++
	name := fmt.Sprintf("%s-%d", role, c.seq[role])
	c.mu.Unlock()
	p := &Process{Name: name, Role: role, c: c, logPath: filepath.Join(c.Dir, name+".log")}
	env := c.Env()
	if role == "serve" {
		p.HTTPAddr = FreeAddr(c.t)
		env = append(env, "TIDINGS_HTTP_ADDR="+p.HTTPAddr, "TIDINGS_PUBLIC_URL=http://"+p.HTTPAddr)
	}
	p.env = append(env, extra...)
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	if err := p.start(); err != nil {
		c.t.Fatalf("cluster: start %s: %v", name, err)
	}
	if role == "serve" {
		p.WaitHTTP(c.t, 60*time.Second)
	}
	return p
}

func (p *Process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.exited() {
		return fmt.Errorf("%s is already running", p.Name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== %s start %s\n", time.Now().UTC().Format(time.RFC3339Nano), p.Name)
	cmd := exec.Command(p.c.Bin, p.Role)
	cmd.Env = p.env
	cmd.Dir = p.c.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a kill reaches nothing else, and a Ctrl-C of
	// the test run does not reach the process before the harness does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	p.cmd, p.done, p.err = cmd, done, nil
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// exited reports whether the current command has ended; p.mu is held.
func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Running reports whether the process is alive.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !p.exited()
}

// Pid returns the process id of the current (or last) run.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (p *Process) Kill() {
	p.c.t.Helper()
	p.signal(syscall.SIGKILL, 10*time.Second)
}

// Stop sends SIGTERM and waits up to 30 s for a graceful exit, then kills.
func (p *Process) Stop() {
	p.c.t.Helper()
	if !p.signal(syscall.SIGTERM, 30*time.Second) {
		p.c.t.Logf("cluster: %s ignored SIGTERM for 30 s; killing it", p.Name)
		p.signal(syscall.SIGKILL, 10*time.Second)
	}
}

// Restart starts the process again with the same environment (after Kill or
// Stop); it stops it first if it still runs.
func (p *Process) Restart() {
	p.c.t.Helper()
	if p.Running() {
		p.Stop()
	}
	if err := p.start(); err != nil {
		p.c.t.Fatalf("cluster: restart %s: %v", p.Name, err)
	}
	if p.Role == "serve" {
		p.WaitHTTP(p.c.t, 60*time.Second)
	}
}

// signal sends sig and waits up to wait for the exit; it reports whether the
// process is gone.
func (p *Process) signal(sig syscall.Signal, wait time.Duration) bool {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return true
	}
	select {
	case <-done:
		return true
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
		return true
	case <-time.After(wait):
		return false
	}
}

// Log returns what the process wrote so far (all its runs).
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// tail returns the last n lines of the log.
func (p *Process) tail(n int) string {
	lines := bytes.Split(bytes.TrimRight([]byte(p.Log()), "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// WaitHTTP waits until a serve process answers /healthz.
func (p *Process) WaitHTTP(t testing.TB, timeout time.Duration) {
	t.Helper()
	// Another process: nothing to signal across, so a poll of /healthz.
	if !wait.UntilEvery(timeout, 50*time.Millisecond, func() bool {
		resp, err := p.c.http.Get("http://" + p.HTTPAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		}
		if !p.Running() {
			t.Fatalf("cluster: %s exited before serving HTTP:\n%s", p.Name, p.tail(40))
		}
		return false
	}) {
		t.Fatalf("cluster: %s does not answer on %s after %s:\n%s", p.Name, p.HTTPAddr, timeout, p.tail(40))
	}
}

// FreeAddr returns 127.0.0.1:port with a port that was free a moment ago.
func FreeAddr(t testing.TB) string { return redisserver.FreeAddr(t) }

// filterEnv drops every TIDINGS_* variable of the test's environment, so a
// developer's settings never leak into the processes.
func filterEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "TIDINGS_") {
			out = append(out, kv)
		}
	}
	return out
}
