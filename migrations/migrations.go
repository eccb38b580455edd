// Package migrations holds the database schema as numbered, forward-only SQL
// files, one set per dialect, embedded in the binary, and a small runner that
// applies the pending ones.
//
// Files are named NNNN_name.sql under postgres/ and sqlite/. Both sets describe
// the same tables and columns; only the types differ. Money columns (*_cents)
// are fixed-point integers holding hundredths of the currency unit. A migration
// is never edited once released: a change is a new, higher-numbered file.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Migration is one schema file and, when it has been applied, when.
type Migration struct {
	Version   int
	Name      string     // the file name without the number and ".sql", e.g. "init"
	AppliedAt *time.Time // nil while pending
	sql       string
}

// File returns the migration's file name stem, e.g. "0001_init".
func (m Migration) File() string { return fmt.Sprintf("%04d_%s", m.Version, m.Name) }

// Available lists the embedded migrations for dialect ("postgres" or
// "sqlite") in version order, without their applied state.
func Available(dialect string) ([]Migration, error) {
	if dialect != "postgres" && dialect != "sqlite" {
		return nil, fmt.Errorf("migrations: unknown dialect %q (want postgres or sqlite)", dialect)
	}
	entries, err := fs.ReadDir(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: read %s: %w", dialect, err)
	}
	var list []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		stem, ok := strings.CutSuffix(name, ".sql")
		if !ok {
			continue
		}
		num, label, ok := strings.Cut(stem, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: %s/%s: name must look like 0001_name.sql", dialect, name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations: %s: %s and %s share version %d", dialect, prev, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(files, path.Join(dialect, name))
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s/%s: %w", dialect, name, err)
		}
		list = append(list, Migration{Version: v, Name: label, sql: string(body)})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Version < list[j].Version })
	return list, nil
}

const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL
)`

// lockSQL serialises migration runs on PostgreSQL across processes. The lock
// is per schema so isolated test schemas do not wait for each other; it is a
// transaction lock, released at commit or rollback.
const lockSQL = `SELECT pg_advisory_xact_lock(hashtext('tidings.migrations.' || current_schema()))`

// Up applies every pending migration for dialect, each in its own transaction
// together with its schema_migrations row, and returns the applied file stems
// (e.g. "0001_init"). On PostgreSQL an advisory lock makes concurrent runs
// safe: the second process waits, then finds the work done. On SQLite the
// store opens write transactions with BEGIN IMMEDIATE, which serialises too.
func Up(ctx context.Context, db *sqlx.DB, dialect string) (applied []string, err error) {
	list, err := Available(dialect)
	if err != nil {
		return nil, err
	}
	if err := inTx(ctx, db, dialect, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, createTable)
		return err
	}); err != nil {
		return nil, fmt.Errorf("migrations: create schema_migrations: %w", err)
	}
	for _, m := range list {
		var done bool
		err := inTx(ctx, db, dialect, func(tx *sqlx.Tx) error {
			var n int
			if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT count(*) FROM schema_migrations WHERE version = ?`), m.Version); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
				m.Version, m.Name, time.Now().UTC())
			done = err == nil
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migrations: apply %s/%s.sql: %w", dialect, m.File(), err)
		}
		if done {
			applied = append(applied, m.File())
		}
	}
	return applied, nil
}

func inTx(ctx context.Context, db *sqlx.DB, dialect string, fn func(*sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if dialect == "postgres" {
		if _, err := tx.ExecContext(ctx, lockSQL); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Status lists every known migration, embedded or recorded as applied, in
// version order, with AppliedAt set for the applied ones. A database that was
// never migrated reports every migration as pending.
func Status(ctx context.Context, db *sqlx.DB, dialect string) ([]Migration, error) {
	list, err := Available(dialect)
	if err != nil {
		return nil, err
	}
	type row struct {
		Version   int       `db:"version"`
		Name      string    `db:"name"`
		AppliedAt time.Time `db:"applied_at"`
	}
	var rows []row
	err = db.SelectContext(ctx, &rows, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil && !isMissingTable(err) {
		return nil, fmt.Errorf("migrations: read schema_migrations: %w", err)
	}
	byVersion := map[int]int{}
	for i, m := range list {
		byVersion[m.Version] = i
	}
	for _, r := range rows {
		at := r.AppliedAt.UTC()
		if i, ok := byVersion[r.Version]; ok {
			list[i].AppliedAt = &at
			continue
		}
		// Applied by a newer binary: still worth showing.
		list = append(list, Migration{Version: r.Version, Name: r.Name, AppliedAt: &at})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Version < list[j].Version })
	return list, nil
}

func isMissingTable(err error) bool {
	if errors.Is(err, sql.ErrNoRows) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist")
}
