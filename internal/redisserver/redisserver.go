// Package redisserver runs private redis-server processes for tests: one
// server (Start) or a Redis Cluster of several masters (StartCluster), on
// free ports, so that FLUSHALL, a restart or a crash never touches the Redis
// other tests share. They run without persistence and with
// maxmemory-policy noeviction, as production must. The drills' harness
// (cmd/tidings/internal/cluster) and the engine's cluster tests use it.
package redisserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/internal/wait"
)

// Server is a private redis-server process.
type Server struct {
	Addr string // 127.0.0.1:port

	t       testing.TB
	bin     string
	args    []string // beyond the defaults: cluster mode
	dir     string
	logPath string
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
}

// Start starts a private redis-server, stopped when the test ends. args are
// added to its command line.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redisserver: redis-server is not installed (apt-get install redis-server): %v", err)
	}
	dir := t.TempDir()
	r := &Server{Addr: FreeAddr(t), t: t, bin: bin, args: args, dir: dir, logPath: filepath.Join(dir, "redis.log")}
	if err := r.start(); err != nil {
		t.Fatalf("redisserver: start redis-server: %v", err)
	}
	t.Cleanup(func() { r.stop(syscall.SIGKILL) })
	return r
}

// URL returns redis://addr/0.
func (r *Server) URL() string { return "redis://" + r.Addr + "/0" }

// Client returns a client on the private server, closed when the test ends.
func (r *Server) Client() *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	r.t.Cleanup(func() { rdb.Close() })
	return rdb
}

func (r *Server) start() error {
	_, port, _ := net.SplitHostPort(r.Addr)
	args := append([]string{"--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--maxmemory-policy", "noeviction", "--dir", r.dir, "--logfile", r.logPath}, r.args...)
	cmd := exec.Command(r.bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.mu.Lock()
	r.cmd, r.done = cmd, done
	r.mu.Unlock()
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer rdb.Close()
	var err error
	exited := false
	answers := wait.UntilEvery(10*time.Second, 20*time.Millisecond, func() bool {
		select {
		case <-done:
			exited = true
			return true
		default:
		}
		// A plain dial first: go-redis logs every refused dial.
		var conn net.Conn
		if conn, err = net.DialTimeout("tcp", r.Addr, time.Second); err != nil {
			return false
		}
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err = rdb.Ping(ctx).Err()
		return err == nil
	})
	switch {
	case exited:
		log, _ := os.ReadFile(r.logPath)
		return fmt.Errorf("redis-server on %s exited: %s", r.Addr, log)
	case !answers:
		return fmt.Errorf("redis-server on %s does not answer: %v", r.Addr, err)
	}
	return nil
}

func (r *Server) stop(sig syscall.Signal) {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// FlushAll wipes every key of the private server.
func (r *Server) FlushAll(ctx context.Context) error {
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	return rdb.FlushAll(ctx).Err()
}

// Restart kills the server (no persistence: everything queued is lost),
// waits down, and starts it again on the same port (in cluster mode with its
// nodes.conf, so it rejoins its cluster with its slots, empty).
func (r *Server) Restart(down time.Duration) {
	r.t.Helper()
	r.stop(syscall.SIGKILL)
	time.Sleep(down) // the outage is the drill: Redis stays down this long
	if err := r.start(); err != nil {
		r.t.Fatalf("redisserver: restart redis-server: %v", err)
	}
}

// FreeAddr returns 127.0.0.1:port with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redisserver: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// UniversalClient is Client as the interface the queue takes.
func (r *Server) UniversalClient() redis.UniversalClient { return r.Client() }
