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
)

// DefaultURL is the Redis the tests use when TIDINGS_TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379/0"

// lockKey marks a logical database as taken by a test.
const lockKey = "tidings:test:lock"

// Client returns a client on a free logical database (1..15) of the test
// Redis, empty, and its options. It fails the test, saying how to configure
// Redis, when none is reachable or free within 30 s.
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
	deadline := time.Now().Add(30 * time.Second)
	for {
		for db := 1; db <= 15; db++ {
			opt := *base
			opt.DB = db
			rdb := redis.NewClient(&opt)
			ok, err := rdb.SetNX(ctx, lockKey, owner, 10*time.Minute).Result()
			if err != nil {
				rdb.Close()
				t.Fatalf("redis at %s is not reachable (%v); start it or set TIDINGS_TEST_REDIS_URL", base.Addr, err)
			}
			if !ok {
				rdb.Close()
				continue
			}
			flush(t, rdb)
			t.Cleanup(func() {
				// FLUSHDB also drops the lock key: the database is free again.
				if err := rdb.FlushDB(context.Background()).Err(); err != nil {
					t.Errorf("flush redis db: %v", err)
				}
				rdb.Close()
			})
			return rdb, &opt
		}
		if time.Now().After(deadline) {
			t.Fatalf("no free logical database on redis %s for 30 s", base.Addr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// flush empties the database but keeps the lock key.
func flush(t testing.TB, rdb *redis.Client) {
	ctx := context.Background()
	owner, _ := rdb.Get(ctx, lockKey).Result()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Errorf("flush redis db: %v", err)
	}
	if owner != "" {
		rdb.Set(ctx, lockKey, owner, 10*time.Minute)
	}
}

// DB returns the logical database number of opt, for messages.
func DB(opt *redis.Options) string { return strconv.Itoa(opt.DB) }
