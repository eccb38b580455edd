// Package store is Tidings' data access: customers, purchases and, later,
// deliveries, suppressions and the webhook inbox, over PostgreSQL or SQLite
// with the same code. Queries are plain SQL written with "?" placeholders and
// rebound for the dialect; nothing is built from input.
//
// Money is fixed-point everywhere: amounts are int64 cents (hundredths of the
// currency unit), never floats. Times are stored and returned in UTC.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite" // the "sqlite" database/sql driver (no cgo), and its error codes

	"github.com/tidings-crm/tidings/migrations"
)

// Dialect names the SQL database behind a Store.
type Dialect string

// The supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// ErrNotFound is returned when a looked-up row does not exist. Callers branch
// on it with errors.Is.
var ErrNotFound = errors.New("store: not found")

// Store is a connection pool to the Tidings database and the queries over it.
// It is safe for concurrent use.
type Store struct {
	DB      *sqlx.DB
	Dialect Dialect

	hasher atomic.Pointer[addressHasher] // the keyed hash of suppressed addresses (LoadHashKey)
	hashMu sync.Mutex                    // one LoadHashKey at a time

	feedback feedbackPolicy             // what bounces and complaints do (SetFeedbackPolicy)
	hooks    atomic.Pointer[HookRoutes] // the outgoing webhooks' subscribers per event type (SetHookRoutes)

	replica *replica // the read replica (AttachReplica); nil: none
}

// Open connects to the database named by url: "postgres://..." or
// "postgresql://..." for PostgreSQL, "sqlite:path/to/file.db" for a SQLite
// file (its parent folder is created). It pings the database before returning
// and does not migrate; call Migrate for that.
func Open(ctx context.Context, url string) (*Store, error) {
	var (
		st  *Store
		err error
	)
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		st, err = openPostgres(url)
	case strings.HasPrefix(url, "sqlite:"):
		st, err = openSQLite(strings.TrimPrefix(url, "sqlite:"))
	default:
		return nil, fmt.Errorf("store: database URL must start with postgres:// or sqlite: (got %q)", redact(url))
	}
	if err != nil {
		return nil, err
	}
	if err := st.Ping(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func openPostgres(dsn string) (*Store, error) {
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres %s: %w", redact(dsn), err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16) // as many as open: closing busy-hour connections only to reopen them costs a backend fork each
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &Store{DB: db, Dialect: Postgres}, nil
}

// SetPoolSize sets how many connections the store keeps open at most, and
// as many idle (TIDINGS_DB_POOL): more workers per process, or a PostgreSQL
// whose max_connections is shared by many processes, want another figure
// than Open's (16 for PostgreSQL, 4 for SQLite).
func (s *Store) SetPoolSize(n int) {
	s.DB.SetMaxOpenConns(n)
	s.DB.SetMaxIdleConns(n)
	if s.replica != nil {
		s.replica.st.SetPoolSize(n)
	}
}

// sqliteParams are the connection settings every SQLite connection gets:
// WAL so readers never block the writer, a 5 s busy wait, enforced foreign
// keys, secure_delete so freed space is zeroed (an erased email must not
// stay in a free page of the file), BEGIN IMMEDIATE so read-then-write transactions cannot deadlock on
// lock upgrade, and times written in UTC in a format SQLite's date functions
// and lexical ordering both understand.
var sqliteParams = url.Values{
	"_pragma":      {"busy_timeout(5000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)", "secure_delete(1)"},
	"_txlock":      {"immediate"},
	"_time_format": {"sqlite"},
	"_timezone":    {"UTC"},
}

func openSQLite(spec string) (*Store, error) {
	file, query, _ := strings.Cut(spec, "?")
	file = strings.TrimPrefix(file, "//") // sqlite:///abs/path or sqlite://rel/path
	if file == "" {
		return nil, errors.New("store: sqlite URL needs a file path, e.g. sqlite:tidings-data/tidings.db")
	}
	if dir := filepath.Dir(file); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create folder for sqlite database: %w", err)
		}
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite URL parameters %q: %w", query, err)
	}
	for k, v := range sqliteParams {
		if _, set := params[k]; !set {
			params[k] = v
		}
	}
	db, err := sqlx.Open("sqlite", "file:"+file+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", file, err)
	}
	// SQLite has a single writer; a few connections let readers (audience
	// streams) run beside it in WAL mode while writers queue on busy_timeout.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	return &Store{DB: db, Dialect: SQLite}, nil
}

// redact hides a password in a database URL so it can be shown in errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Close releases the connection pool, and the read replica's.
func (s *Store) Close() error {
	if s.replica != nil {
		s.replica.st.Close()
	}
	return s.DB.Close()
}

// Ping checks that the database answers.
//
// A new SQLite connection switches the file to WAL mode, which needs the
// file to itself for a moment, and SQLite answers "busy" at once instead of
// waiting when several processes open a new file together: Ping tries again
// for up to sqliteOpenWait.
func (s *Store) Ping(ctx context.Context) error {
	deadline := time.Now().Add(sqliteOpenWait)
	for {
		err := s.DB.PingContext(ctx)
		if err == nil {
			return nil
		}
		if s.Dialect != SQLite || !isBusy(err) || time.Now().After(deadline) {
			return fmt.Errorf("store: connect to %s database: %w", s.Dialect, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: connect to %s database: %w", s.Dialect, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sqliteOpenWait is as long as the busy_timeout of sqliteParams.
const sqliteOpenWait = 5 * time.Second

// isBusy reports whether err is SQLite's SQLITE_BUSY (or an extended code
// of it).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 5
}

// Migrate applies the pending schema migrations and returns their file stems.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	return migrations.Up(ctx, s.DB, string(s.Dialect))
}

// MigrationStatus lists every migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]migrations.Migration, error) {
	return migrations.Status(ctx, s.DB, string(s.Dialect))
}

// inTx runs fn in one transaction, committing when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
