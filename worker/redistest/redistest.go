// Package redistest gives each test its own logical database on the test
// Redis (TIDINGS_TEST_REDIS_URL, default redis://127.0.0.1:6379/0), so tests
// of several packages can run at once without touching each other's keys or
// anyone else's. A database is taken with a lock key, flushed before and
// after use, and released in t.Cleanup.
package redistest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tidings-crm/tidings/internal/wait"
)

// DefaultURL is the Redis the tests use when TIDINGS_TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379/0"

// lockKey marks a logical database as taken by a test.
const lockKey = "tidings:test:lock"

// Client returns a client on a free logical database (1..15) of the test
// Redis, empty, and its options. It fails the test, saying how to configure
// Redis, when none is reachable or free within 3 minutes.
func Client(t testing.TB) (*redis.Client, *redis.Options) {
	t.Helper()
	url := os.Getenv("TIDINGS_TEST_REDIS_URL")
	if url == "" {
		url = DefaultURL
	}
	base, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("TIDINGS_TEST_REDIS_URL %q: %v", url, err)
	}
	ctx := context.Background()
	owner := fmt.Sprintf("%s-%d-%d", t.Name(), os.Getpid(), time.Now().UnixNano())
	// Tests wait for a database rather than fail: on a busy machine all
	// fifteen may be taken by parallel tests for a while. They are taken
	// by other processes too: nothing to signal across, so a poll.
	var rdb *redis.Client
	var opt redis.Options
	if !wait.UntilEvery(3*time.Minute, 200*time.Millisecond, func() bool {
		for db := 1; db <= 15; db++ {
			opt = *base
			opt.DB = db
			rdb = redis.NewClient(&opt)
			ok, err := rdb.SetNX(ctx, lockKey, owner, lockTTL).Result()
			if err != nil {
				rdb.Close()
				t.Fatalf("redis at %s is not reachable (%v); start it or set TIDINGS_TEST_REDIS_URL", base.Addr, err)
			}
			if ok {
				return true
			}
			rdb.Close()
		}
		return false
	}) {
		t.Fatalf("no free logical database on redis %s for 3 minutes", base.Addr)
	}
	flush(t, rdb)
	stop := holdLock(rdb, owner)
	t.Cleanup(func() {
		stop()
		// FLUSHDB also drops the lock key: the database is free again.
		if err := rdb.FlushDB(context.Background()).Err(); err != nil {
			t.Errorf("flush redis db: %v", err)
		}
		rdb.Close()
	})
	return rdb, &opt
}

// lockTTL is how long a lock outlives a test process that died holding it.
const lockTTL = 10 * time.Minute

// holdLock renews the lock key while the test runs, so a test slower than
// lockTTL on a loaded machine keeps its database (an expired lock let
// another test flush it mid-run), and returns the function that stops it.
func holdLock(rdb redis.UniversalClient, owner string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(lockTTL / 5)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ctx := context.Background()
				if cur, _ := rdb.Get(ctx, lockKey).Result(); cur == owner {
					rdb.Expire(ctx, lockKey, lockTTL)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// flush empties the database (every master of a cluster) but keeps the lock
// key.
func flush(t testing.TB, rdb redis.UniversalClient) {
	ctx := context.Background()
	owner, _ := rdb.Get(ctx, lockKey).Result()
	var err error
	if c, ok := rdb.(*redis.ClusterClient); ok {
		err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.FlushDB(ctx).Err() })
	} else {
		err = rdb.FlushDB(ctx).Err()
	}
	if err != nil {
		t.Errorf("flush redis db: %v", err)
	}
	if owner != "" {
		rdb.Set(ctx, lockKey, owner, lockTTL)
	}
}

// DB returns the logical database number of opt, for messages.
func DB(opt *redis.Options) string { return strconv.Itoa(opt.DB) }
