package main

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/worker/redistest"
)

// A session revoked by one serve process is refused by every process on the
// same Redis, and forgotten once it would have expired anyway.
func TestRedisRevocationsAreShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, _ := redistest.Client(t)
	one, two := redisRevocations{rdb}, redisRevocations{rdb}
	if err := one.Revoke(ctx, "sess-a", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"sess-a": true, "sess-b": false} {
		if got, err := two.Revoked(ctx, id); err != nil || got != want {
			t.Errorf("Revoked(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
	if ttl := rdb.TTL(ctx, revokedPrefix+"sess-a").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("revocation kept for %v, want until the session's expiry (at most 1h)", ttl)
	}
	if err := one.Revoke(ctx, "sess-old", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, revokedPrefix+"sess-old").Val(); n != 0 {
		t.Error("an expired session was stored as revoked; it needs no memory")
	}
}
