package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// A read replica is a PostgreSQL hot standby fed by streaming replication
// from the primary (TIDINGS_DATABASE_READ_URL). The reads whose staleness is
// harmless go there through Read: the customer pages an audience run
// evaluates, reports. Everything that decides stays on the primary: the
// ledger and its unique key, claims and their consent check, "who was
// already planned". A replica that lags therefore only delays: a customer
// it does not show yet is planned by a later run, never twice.

// replica is the pool to the standby and its state.
type replica struct {
	st         *Store
	url        string       // redacted, for messages
	heldOff    atomic.Int64 // unix nanoseconds until which reads skip it after a failure
	fallbacks  atomic.Int64 // reads that failed on it and ran again on the primary
	onFallback atomic.Pointer[func(error)]
}

// replicaHoldOff is how long reads go to the primary after the replica
// failed one: a replica that is down costs each read a connection attempt
// otherwise.
const replicaHoldOff = 30 * time.Second

// replicaConnectTimeout bounds a connection attempt to the replica unless
// its URL says otherwise (connect_timeout, in seconds): a replica whose host
// is unreachable would otherwise hold a read until the kernel gives up.
const replicaConnectTimeout = "5"

// ErrNoReplica is returned by ReplicaStatus when no replica is attached.
var ErrNoReplica = errors.New("store: no read replica is configured (TIDINGS_DATABASE_READ_URL)")

// AttachReplica opens a pool to the read replica at rawURL (postgres://...),
// for Read. It does not connect: a replica that is down at start only sends
// the reads to the primary. onFallback, when set, hears each read that
// failed on the replica and ran again on the primary.
func (s *Store) AttachReplica(rawURL string, onFallback func(error)) error {
	if s.Dialect != Postgres {
		return errors.New("store: a read replica needs a PostgreSQL primary")
	}
	if !strings.HasPrefix(rawURL, "postgres://") && !strings.HasPrefix(rawURL, "postgresql://") {
		return fmt.Errorf("store: read replica URL must start with postgres:// (got %q)", redact(rawURL))
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("store: read replica URL %s: %w", redact(rawURL), err)
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", replicaConnectTimeout)
		u.RawQuery = q.Encode()
	}
	st, err := openPostgres(u.String())
	if err != nil {
		return err
	}
	st.DB.SetMaxOpenConns(s.DB.Stats().MaxOpenConnections)
	st.DB.SetMaxIdleConns(s.DB.Stats().MaxOpenConnections)
	r := &replica{st: st, url: redact(rawURL)}
	if onFallback != nil {
		r.onFallback.Store(&onFallback)
	}
	if s.replica != nil {
		s.replica.st.Close()
	}
	s.replica = r
	return nil
}

// HasReplica reports whether a read replica is attached.
func (s *Store) HasReplica() bool { return s.replica != nil }

// Read runs read, a read-only piece of work that may see the data a little
// behind (an audience stream, a report), on the read replica when one is
// attached and not held off, and on the primary otherwise. When it fails on
// the replica (with an error other than ctx's), it runs again on the
// primary, the replica is held off for 30 s, and the fallback is counted
// and reported to AttachReplica's onFallback. read may thus run twice: it
// must start from scratch each time (reset what it collects).
func (s *Store) Read(ctx context.Context, read func(r *Store) error) error {
	rp := s.replica
	if rp == nil || rp.heldOff.Load() > time.Now().UnixNano() {
		return read(s)
	}
	err := read(rp.st)
	if err == nil || ctx.Err() != nil {
		return err
	}
	rp.heldOff.Store(time.Now().Add(replicaHoldOff).UnixNano())
	rp.fallbacks.Add(1)
	if fn := rp.onFallback.Load(); fn != nil {
		(*fn)(fmt.Errorf("read replica %s: %w", rp.url, err))
	}
	return read(s)
}

// ReplicaFallbacks counts the reads that failed on the replica and ran
// again on the primary since the replica was attached.
func (s *Store) ReplicaFallbacks() int64 {
	if s.replica == nil {
		return 0
	}
	return s.replica.fallbacks.Load()
}

// ReplicaStatus is how far the read replica is behind the primary.
type ReplicaStatus struct {
	// Standby says the server is in recovery, as a replica is; false means
	// the URL names a primary (a promoted replica, a mistake): reads there
	// are not behind, but not replicated either.
	Standby bool
	Paused  bool  // replay is paused (pg_wal_replay_pause)
	Behind  int64 // bytes of WAL the primary wrote that the replica has not replayed
	// Lag is 0 when the replica has replayed everything the primary wrote,
	// otherwise the age of the last transaction it replayed
	// (pg_last_xact_replay_timestamp): how old the data it shows may be.
	Lag        time.Duration
	ReplayedAt time.Time // commit time of the last replayed transaction; zero if none since it started
}

// ReplicaStatus asks the replica and the primary how far the replica is
// behind. It returns ErrNoReplica without a replica, and an error when
// either does not answer.
func (s *Store) ReplicaStatus(ctx context.Context) (ReplicaStatus, error) {
	var rs ReplicaStatus
	if s.replica == nil {
		return rs, ErrNoReplica
	}
	db := s.replica.st.DB
	if err := db.QueryRowContext(ctx, `SELECT pg_is_in_recovery()`).Scan(&rs.Standby); err != nil {
		return rs, fmt.Errorf("store: read replica %s: %w", s.replica.url, err)
	}
	if !rs.Standby {
		return rs, nil
	}
	var (
		lsn      sql.NullString
		replayed sql.NullTime
		now      time.Time
	)
	err := db.QueryRowContext(ctx, `SELECT pg_is_wal_replay_paused(), pg_last_wal_replay_lsn()::text,
		pg_last_xact_replay_timestamp(), now()`).Scan(&rs.Paused, &lsn, &replayed, &now)
	if err != nil {
		return rs, fmt.Errorf("store: read replica %s: %w", s.replica.url, err)
	}
	if replayed.Valid {
		rs.ReplayedAt = replayed.Time.UTC()
	}
	if !lsn.Valid {
		return rs, fmt.Errorf("store: read replica %s has replayed no WAL yet", s.replica.url)
	}
	if err := s.DB.QueryRowContext(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint`,
		lsn.String).Scan(&rs.Behind); err != nil {
		return rs, fmt.Errorf("store: replica lag on the primary: %w", err)
	}
	if rs.Behind > 0 && replayed.Valid {
		rs.Lag = max(now.Sub(replayed.Time), 0)
	}
	return rs, nil
}
