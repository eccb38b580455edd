package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker/redistest"
)

// TestPoolSizesReachThePools: TIDINGS_DB_POOL sets the database pool's open
// (and idle) connections on both dialects, TIDINGS_REDIS_POOL the Redis
// client's pool, on a real Redis and the embedded one; unset, the defaults
// stay (16 on PostgreSQL, 4 on SQLite, go-redis's own).
func TestPoolSizesReachThePools(t *testing.T) {
	t.Parallel()
	_, ropt := redistest.Client(t)
	realRedis := fmt.Sprintf("redis://%s/%d", ropt.Addr, ropt.DB)
	defaults := map[store.Dialect]int{store.Postgres: 16, store.SQLite: 4}
	for _, d := range storetest.Dialects() {
		for _, redisURL := range []string{realRedis, "embedded"} {
			t.Run(fmt.Sprintf("%s/%s", d, redisURL), func(t *testing.T) {
				db := storetest.URL(t, d)
				rt, log, err := runtimeWith(t, "--database-url", db, "--redis-url", redisURL,
					"--db-pool", "7", "--redis-pool", "5")
				if err != nil {
					t.Fatalf("%v\n%s", err, log.String())
				}
				defer rt.close()
				if got := rt.st.DB.Stats().MaxOpenConnections; got != 7 {
					t.Errorf("database MaxOpenConnections = %d, want 7 (TIDINGS_DB_POOL)", got)
				}
				if got := rt.rdb.(*redis.Client).Options().PoolSize; got != 5 {
					t.Errorf("redis PoolSize = %d, want 5 (TIDINGS_REDIS_POOL)", got)
				}

				def, log, err := runtimeWith(t, "--database-url", db, "--redis-url", redisURL)
				if err != nil {
					t.Fatalf("%v\n%s", err, log.String())
				}
				defer def.close()
				if got := def.st.DB.Stats().MaxOpenConnections; got != defaults[d] {
					t.Errorf("default database MaxOpenConnections = %d, want %d", got, defaults[d])
				}
				if got, want := def.rdb.(*redis.Client).Options().PoolSize, redis.NewClient(&redis.Options{}).Options().PoolSize; got != want {
					t.Errorf("default redis PoolSize = %d, want go-redis's %d", got, want)
				}
			})
		}
	}
}

// TestStartLogsTheEffectiveLimits: a process logs its pools at start, and
// a worker process its send limits too, as set or defaulted.
func TestStartLogsTheEffectiveLimits(t *testing.T) {
	t.Parallel()
	a, log := appWith(t, "--redis-url", "embedded", "--email-rate", "123", "--redis-pool", "5")
	rt, err := a.openRuntime(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.close()
	a.limits(rt, true)
	want := "msg=limits db_pool=4 redis_pool=5 concurrency=8 email_rate=123 sms_rate=20 smtp_pool=4"
	if !strings.Contains(log.String(), want) {
		t.Fatalf("start-up log:\n%s\nwant a line with %q", log.String(), want)
	}
}

// TestPoolSizeMustBeAPositiveNumber: a pool of 0, a negative one or a word
// stops start-up naming the variable.
func TestPoolSizeMustBeAPositiveNumber(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ flag, val, env string }{
		{"--db-pool", "0", "TIDINGS_DB_POOL"}, {"--db-pool", "many", "TIDINGS_DB_POOL"},
		{"--redis-pool", "-3", "TIDINGS_REDIS_POOL"},
	} {
		var out bytes.Buffer
		code := run(context.Background(), []string{"--database-url", storetest.URL(t, store.SQLite), c.flag, c.val,
			"migrate", "status"}, &out, &out)
		if code == 0 || !strings.Contains(out.String(), c.env+": must be a whole number") {
			t.Errorf("%s %s: exit %d, output %q; want an error naming %s", c.flag, c.val, code, out.String(), c.env)
		}
	}
}
