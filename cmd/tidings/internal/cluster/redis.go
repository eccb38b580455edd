package cluster

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

// Redis is a private redis-server process on a free port, so that FLUSHALL,
// a restart or a crash never touches the Redis other tests share. It runs
// without persistence, with maxmemory-policy noeviction (as production must).
type Redis struct {
	Addr string // 127.0.0.1:port

	t       testing.TB
	dir     string
	logPath string
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
}

// StartRedis starts a private redis-server, stopped when the test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("cluster: redis-server is not installed (apt-get install redis-server): %v", err)
	}
	dir := t.TempDir()
	r := &Redis{Addr: FreeAddr(t), t: t, dir: dir, logPath: filepath.Join(dir, "redis.log")}
	if err := r.start(bin); err != nil {
		t.Fatalf("cluster: start redis-server: %v", err)
	}
	t.Cleanup(func() { r.stop(syscall.SIGKILL) })
	return r
}

// URL returns redis://addr/0.
func (r *Redis) URL() string { return "redis://" + r.Addr + "/0" }

// Client returns a client on the private server, closed when the test ends.
func (r *Redis) Client() *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	r.t.Cleanup(func() { rdb.Close() })
	return rdb
}

func (r *Redis) start(bin string) error {
	_, port, _ := net.SplitHostPort(r.Addr)
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--maxmemory-policy", "noeviction", "--dir", r.dir, "--logfile", r.logPath)
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

func (r *Redis) stop(sig syscall.Signal) {
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
func (r *Redis) FlushAll(ctx context.Context) error {
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	return rdb.FlushAll(ctx).Err()
}

// Restart kills the server (no persistence: everything queued is lost),
// waits down, and starts it again on the same port.
func (r *Redis) Restart(down time.Duration) {
	r.t.Helper()
	r.stop(syscall.SIGKILL)
	time.Sleep(down) // the outage is the drill: Redis stays down this long
	bin, _ := exec.LookPath("redis-server")
	if err := r.start(bin); err != nil {
		r.t.Fatalf("cluster: restart redis-server: %v", err)
	}
}
