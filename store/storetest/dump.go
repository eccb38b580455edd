package storetest

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/store"
)

// Dump renders every row of the given tables (ordered by id) as text, column
// by column, so a test can check that something meant to read only (a
// backtest, a dry run) left the database byte-identical.
func Dump(t testing.TB, st *store.Store, tables ...string) string {
	t.Helper()
	var b strings.Builder
	for _, table := range tables {
		b.WriteString(dumpTable(t, st, table, " ORDER BY id"))
	}
	return b.String()
}

// RefreshTables are the tables an insights refresh writes.
var RefreshTables = []string{"customers", "customer_events", "insights_models"}

// DumpAll renders every row of every table of the store's database (or
// PostgreSQL schema) as Dump does, for tests that look for a value anywhere
// in the database (an erased email must be nowhere).
func DumpAll(t testing.TB, st *store.Store) string {
	t.Helper()
	q := `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`
	if st.Dialect == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`
	}
	var tables []string
	if err := st.DB.Select(&tables, q); err != nil {
		t.Fatalf("dump: list tables: %v", err)
	}
	var b strings.Builder
	for _, table := range tables {
		b.WriteString(dumpTable(t, st, table, ""))
	}
	return b.String()
}

// dumpTable renders table's rows; order is "" or an ORDER BY clause.
func dumpTable(t testing.TB, st *store.Store, table, order string) string {
	t.Helper()
	// Names come from the tests or the database's own catalogue.
	rows, err := st.DB.Query(`SELECT * FROM "` + table + `"` + order)
	if err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var b strings.Builder
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		fmt.Fprintf(&b, "%s:", table)
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, " %s=%v", cols[i], v)
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	return b.String()
}

// SQLiteFiles returns the bytes of a SQLite database's files, the main file
// and its write-ahead log, for url "sqlite:path".
func SQLiteFiles(t testing.TB, url string) []byte {
	t.Helper()
	path, _, _ := strings.Cut(strings.TrimPrefix(url, "sqlite:"), "?")
	var out []byte
	for _, f := range []string{path, path + "-wal", path + "-journal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatalf("read %s: %v", f, err)
		}
		out = append(out, b...)
	}
	return out
}
