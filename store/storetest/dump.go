package storetest

import (
	"fmt"
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
		rows, err := st.DB.Query("SELECT * FROM " + table + " ORDER BY id")
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
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
		if err := rows.Close(); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
	}
	return b.String()
}

// RefreshTables are the tables an insights refresh writes.
var RefreshTables = []string{"customers", "customer_events", "insights_models"}
