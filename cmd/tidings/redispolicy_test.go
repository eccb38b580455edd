package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
	"github.com/tidings-crm/tidings/internal/redisserver"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// openWith opens a runtime on a fresh SQLite database and an empty campaigns
// folder with flags, and returns the log and its error.
func openWith(t *testing.T, flags ...string) (string, error) {
	t.Helper()
	rt, log, err := runtimeWith(t, flags...)
	if err == nil {
		rt.close()
	}
	return log.String(), err
}

// runtimeWith opens a runtime (migrated) on a fresh SQLite database and an
// empty campaigns folder with flags, which may name another database; the
// caller closes it.
func runtimeWith(t *testing.T, flags ...string) (*runtime, *syncBuffer, error) {
	t.Helper()
	a, log := appWith(t, flags...)
	rt, err := a.openRuntime(context.Background(), true)
	return rt, log, err
}

// appWith is the app of runtimeWith, its log captured.
func appWith(t *testing.T, flags ...string) (*app, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	a := &app{stdout: log, stderr: log, log: slog.New(slog.NewTextHandler(log, nil))}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	a.cfg.bindFlags(fs)
	args := append([]string{"--database-url", storetest.URL(t, store.SQLite), "--campaigns", t.TempDir(),
		"--outbox", t.TempDir(), "--signing-key", strings.Repeat("k", 32)}, flags...)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := a.cfg.load(fs, ""); err != nil {
		t.Fatal(err)
	}
	return a, log
}

// TestRedisThatCanEvictTasksIsRefused: on a private redis-server (CONFIG SET
// is server-wide: the shared test Redis is never changed), a
// maxmemory-policy other than noeviction stops start-up with a message
// naming the fix and the override; the override starts with a warning; a
// Redis that hides CONFIG (managed Redis) starts with a warning that the
// policy could not be checked; the embedded queue is not checked.
func TestRedisThatCanEvictTasksIsRefused(t *testing.T) {
	t.Parallel()
	r := cluster.StartRedis(t)
	ctx := context.Background()
	admin := r.Client()

	if log, err := openWith(t, "--redis-url", r.URL()); err != nil || strings.Contains(log, "maxmemory-policy") {
		t.Fatalf("noeviction: %v\n%s; want a quiet start", err, log)
	}

	if err := admin.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	_, err := openWith(t, "--redis-url", r.URL())
	for _, want := range []string{"maxmemory-policy allkeys-lru", "CONFIG SET maxmemory-policy noeviction",
		"TIDINGS_REDIS_ALLOW_EVICTION=true"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("allkeys-lru: start error %v; want it to say %q", err, want)
		}
	}
	log, err := openWith(t, "--redis-url", r.URL(), "--redis-allow-eviction", "true")
	if err != nil || !strings.Contains(log, "level=WARN") || !strings.Contains(log, "policy=allkeys-lru") {
		t.Fatalf("allkeys-lru with the override: %v\n%s; want a start with a warning", err, log)
	}

	// A user without CONFIG, as managed Redis services hand out.
	if err := admin.Do(ctx, "ACL", "SETUSER", "app", "on", ">app-pass", "~*", "&*", "+@all", "-config").Err(); err != nil {
		t.Fatal(err)
	}
	log, err = openWith(t, "--redis-url", "redis://app:app-pass@"+r.Addr+"/0")
	if err != nil || !strings.Contains(log, "could not check Redis's maxmemory-policy") {
		t.Fatalf("CONFIG denied: %v\n%s; want a start with a warning", err, log)
	}

	if log, err := openWith(t, "--redis-url", "embedded"); err != nil || strings.Contains(log, "maxmemory-policy") {
		t.Fatalf("embedded: %v\n%s; want no policy check", err, log)
	}
}

// TestRedisAllowEvictionMustBeABoolean: a typo in the override is a config
// error naming the variable, not a silent false.
func TestRedisAllowEvictionMustBeABoolean(t *testing.T) {
	t.Setenv("TIDINGS_REDIS_ALLOW_EVICTION", "yes please")
	code, _, errOut := cli(t, "validate", "../../examples/campaigns")
	if code == 0 || !strings.Contains(errOut, `TIDINGS_REDIS_ALLOW_EVICTION: must be true or false, got "yes please"`) {
		t.Fatalf("exit %d, %q", code, errOut)
	}
}

// TestRuntimeOnRedisCluster: TIDINGS_REDIS_URL naming a Redis Cluster opens a
// runtime whose queue client reaches the cluster (a task enqueued lands on
// it, and the limits log the pool per node); a master that may evict is
// refused like a single server, naming that master; a database number is a
// config error.
func TestRuntimeOnRedisCluster(t *testing.T) {
	t.Parallel()
	c := redisserver.StartCluster(t, 3)
	ctx := context.Background()
	a, log := appWith(t, "--redis-url", c.URL(), "--redis-pool", "3")
	rt, err := a.openRuntime(ctx, true)
	if err != nil {
		t.Fatalf("open on %s: %v\n%s", c.URL(), err, log)
	}
	if err := rt.queue.Run(ctx, worker.RunPayload{Campaign: "news", Occurrence: "cluster"}); err != nil {
		t.Fatalf("enqueue on the cluster: %v", err)
	}
	if n, err := c.Client().LLen(ctx, "asynq:{"+worker.QueuePlan+"}:pending").Result(); err != nil || n != 1 {
		t.Errorf("plan queue on the cluster holds %d tasks (%v); want the one enqueued", n, err)
	}
	a.limits(rt, false)
	rt.close()
	if !strings.Contains(log.String(), "redis_pool=3") {
		t.Errorf("start-up log:\n%s\nwant the pool per node, redis_pool=3", log.String())
	}

	evicting := c.Masters[1]
	if err := evicting.Client().ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	_, err = openWith(t, "--redis-url", c.URL())
	if err == nil || !strings.Contains(err.Error(), evicting.Addr+" has maxmemory-policy allkeys-lru") {
		t.Errorf("one evicting master: start error %v; want it refused, naming %s", err, evicting.Addr)
	}

	code, _, errOut := cli(t, "validate", "--redis-url", "redis+cluster://127.0.0.1:7000/2", "../../examples/campaigns")
	if code == 0 || !strings.Contains(errOut, "database 0 only") {
		t.Errorf("a database number on a cluster: exit %d, %q; want a config error", code, errOut)
	}
}
