package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestServeRefusesPendingMigrationsUnlessAsked: serve, worker and scheduler
// on an unmigrated database exit non-zero naming the pending migrations and
// both ways forward; --migrate (or TIDINGS_MIGRATE=true) applies them and
// serve starts.
func TestServeRefusesPendingMigrationsUnlessAsked(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t, store.SQLite)
	common := []string{"--database-url", dbURL, "--redis-url", "embedded", "--campaigns", t.TempDir(),
		"--outbox", t.TempDir()}
	for _, role := range []string{"serve", "worker", "scheduler"} {
		var out bytes.Buffer
		// Bounded: a process that starts anyway stops here and exits 0.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		code := run(ctx, append(append([]string{}, common...), role), &out, &out)
		cancel()
		if code == 0 {
			t.Fatalf("%s on an unmigrated database exited 0:\n%s", role, out.String())
		}
		for _, want := range []string{"pending migration", "0001_init", "tidings migrate up", "--migrate", "TIDINGS_MIGRATE=true"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: message lacks %q:\n%s", role, want, out.String())
			}
		}
	}
	base := serveForTest(t, context.Background(), append(common, "--migrate")...)
	if base == "" {
		t.Fatal("serve --migrate did not start")
	}
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := requireMigrated(context.Background(), st); err != nil {
		t.Errorf("after serve --migrate: %v", err)
	}
}

// TestServeStartsAfterMigrateUp: the other way forward, `tidings migrate up`
// then serve without --migrate.
func TestServeStartsAfterMigrateUp(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t, store.SQLite)
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--database-url", dbURL, "migrate", "up"}, &out, &out); code != 0 {
		t.Fatalf("migrate up exited %d:\n%s", code, out.String())
	}
	serveForTest(t, context.Background(), "--database-url", dbURL, "--redis-url", "embedded",
		"--campaigns", t.TempDir(), "--outbox", t.TempDir())
}
