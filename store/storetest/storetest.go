// Package storetest gives tests an isolated, migrated store for each dialect:
// a SQLite file in the test's temporary folder, or a fresh PostgreSQL schema
// that is dropped when the test ends. Tests table-drive over Dialects() so
// every behaviour is proven on both databases.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tidings-crm/tidings/store"
)

// DefaultDatabaseURL is the PostgreSQL the tests use when
// TIDINGS_TEST_DATABASE_URL is not set.
const DefaultDatabaseURL = "postgres://root@127.0.0.1:5432/test?sslmode=disable"

// Dialects lists the dialects every store test should run against.
func Dialects() []store.Dialect { return []store.Dialect{store.SQLite, store.Postgres} }

// DatabaseURL returns TIDINGS_TEST_DATABASE_URL or DefaultDatabaseURL.
func DatabaseURL() string {
	if u := os.Getenv("TIDINGS_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultDatabaseURL
}

// Open returns a migrated store of the given dialect that only this test
// uses, closed (and for PostgreSQL, dropped) in t.Cleanup. When PostgreSQL is
// unreachable the test fails, saying how to point it at a server.
func Open(t testing.TB, dialect store.Dialect) *store.Store {
	t.Helper()
	st, _ := OpenURL(t, dialect)
	return st
}

// OpenURL is Open, and the URL of the test's database (for SQLiteFiles or
// another process).
func OpenURL(t testing.TB, dialect store.Dialect) (*store.Store, string) {
	t.Helper()
	url := URL(t, dialect)
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", dialect, err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate %s: %v", dialect, err)
	}
	// A key generated and kept in the database, as a first start without
	// TIDINGS_HASH_KEY does: another store or process on the same database
	// finds it there.
	if _, err := st.LoadHashKey(ctx, ""); err != nil {
		t.Fatalf("storetest: hash key %s: %v", dialect, err)
	}
	return st, url
}

// OpenEmpty is Open without the migrations, for tests of the migrations
// themselves. Its URL is available through URL for opening more connections
// to the same isolated database.
func OpenEmpty(t testing.TB, dialect store.Dialect) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), URL(t, dialect))
	if err != nil {
		t.Fatalf("storetest: open %s: %v", dialect, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// URL creates an isolated, empty database for this test and returns its URL:
// "sqlite:<tempdir>/tidings.db", or the PostgreSQL URL with search_path set to
// a new schema tidings_test_<random>, dropped in t.Cleanup.
func URL(t testing.TB, dialect store.Dialect) string {
	t.Helper()
	switch dialect {
	case store.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "tidings.db")
	case store.Postgres:
		return postgresSchema(t)
	}
	t.Fatalf("storetest: unknown dialect %q", dialect)
	return ""
}

func postgresSchema(t testing.TB) string {
	t.Helper()
	base := DatabaseURL()
	admin, err := sqlx.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		t.Fatalf("storetest: PostgreSQL at %s is unreachable (%v).\n"+
			"Start one, or set TIDINGS_TEST_DATABASE_URL to a database the tests may create schemas in,\n"+
			"e.g. TIDINGS_TEST_DATABASE_URL='postgres://user@host:5432/db?sslmode=disable' (scripts/test-services.sh does this).",
			redacted(base), err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("storetest: random schema name: %v", err)
	}
	schema := "tidings_test_" + hex.EncodeToString(b[:])
	// The name is made here from hex digits only, so it is safe to splice.
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: parse TIDINGS_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
