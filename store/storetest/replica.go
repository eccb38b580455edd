package storetest

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// ReplicaURL returns the URL of the test read replica
// (TIDINGS_TEST_DATABASE_READ_URL: a streaming hot standby of the test
// PostgreSQL, which scripts/test-services.sh starts with
// TIDINGS_TEST_REPLICA=1) showing the same schema as primaryURL (a URL of
// OpenURL), or skips the test, saying how to get one.
func ReplicaURL(t testing.TB, primaryURL string) string {
	t.Helper()
	base := os.Getenv("TIDINGS_TEST_DATABASE_READ_URL")
	if base == "" {
		t.Skip("no read replica: run eval \"$(TIDINGS_TEST_REPLICA=1 scripts/test-services.sh)\" " +
			"or set TIDINGS_TEST_DATABASE_READ_URL to a streaming replica of the test PostgreSQL")
	}
	p, err := url.Parse(primaryURL)
	if err != nil {
		t.Fatalf("storetest: parse %s: %v", redacted(primaryURL), err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: parse TIDINGS_TEST_DATABASE_READ_URL: %v", err)
	}
	q := u.Query()
	if sp := p.Query().Get("search_path"); sp != "" {
		q.Set("search_path", sp)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Replica is a test's handle on the test read replica's replay.
type Replica struct {
	t       testing.TB
	db      *sqlx.DB // the replica, as a superuser (pausing replay needs it)
	primary *sqlx.DB
}

// OpenReplica connects to the replica at readURL and to its primary at
// primaryURL. The replica is shared by every test package: the test holds
// it alone (an advisory lock on the primary, waited for) until it ends, so
// no other test pauses replay under it, and replay is resumed then.
func OpenReplica(t testing.TB, primaryURL, readURL string) *Replica {
	t.Helper()
	r := &Replica{t: t}
	var err error
	if r.db, err = sqlx.Open("pgx", readURL); err != nil {
		t.Fatal(err)
	}
	if r.primary, err = sqlx.Open("pgx", primaryURL); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lock, err := r.primary.Conn(ctx)
	if err != nil {
		t.Fatalf("storetest: primary: %v", err)
	}
	if _, err := lock.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext('tidings test replica'))`); err != nil {
		t.Fatalf("storetest: lock the test replica: %v", err)
	}
	t.Cleanup(func() {
		r.Resume()
		_, _ = lock.ExecContext(ctx, `SELECT pg_advisory_unlock(hashtext('tidings test replica'))`)
		lock.Close()
		r.db.Close()
		r.primary.Close()
	})
	return r
}

// Pause stops replay (pg_wal_replay_pause) and waits until it has stopped:
// what the primary commits from then on stays invisible on the replica.
func (r *Replica) Pause() {
	r.t.Helper()
	r.exec(`SELECT pg_wal_replay_pause()`)
	r.waitFor(`SELECT pg_get_wal_replay_pause_state() = 'paused'`)
}

// Resume restarts replay.
func (r *Replica) Resume() {
	r.t.Helper()
	r.exec(`SELECT pg_wal_replay_resume()`)
}

// CatchUp waits until the replica has replayed everything the primary had
// written when it was called.
func (r *Replica) CatchUp() {
	r.t.Helper()
	var lsn string
	if err := r.primary.Get(&lsn, `SELECT pg_current_wal_lsn()::text`); err != nil {
		r.t.Fatalf("storetest: primary WAL position: %v", err)
	}
	r.waitFor(`SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '` + lsn + `'::pg_lsn) >= 0`) // an LSN: hex digits and a slash
}

func (r *Replica) exec(query string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.db.ExecContext(ctx, query); err != nil {
		r.t.Fatalf("storetest: replica %s: %v", query, err)
	}
}

func (r *Replica) waitFor(query string) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ok bool
		if err := r.db.Get(&ok, query); err != nil {
			r.t.Fatalf("storetest: replica %s: %v", query, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("storetest: replica: %s still false after 30 s", query)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
