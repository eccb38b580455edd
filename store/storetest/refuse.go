package storetest

import (
	"context"
	"regexp"
	"testing"

	"github.com/tidings-crm/tidings/store"
)

var sqlName = regexp.MustCompile(`^[a-z_]+$`)

// Refuse makes the database itself refuse every row of table whose column
// holds value (once per table and column), as a constraint would (a CHECK constraint on PostgreSQL, a
// trigger raising a constraint error on SQLite, which cannot add a CHECK to
// an existing table): tests of the paths that keep a batch's good rows when
// the database refuses one, whatever the reason.
func Refuse(t testing.TB, st *store.Store, table, column, value string) {
	t.Helper()
	if !sqlName.MatchString(table) || !sqlName.MatchString(column) || !sqlName.MatchString(value) {
		t.Fatalf("storetest: Refuse(%q, %q, %q): names and value must be lower-case letters and _", table, column, value)
	}
	// The names and value are checked above, so they are safe to splice.
	stmts := []string{`ALTER TABLE ` + table + ` ADD CONSTRAINT refuse_` + table + `_` + column +
		` CHECK (` + column + ` <> '` + value + `')`}
	if st.Dialect == store.SQLite {
		stmts = nil
		for _, op := range []string{"INSERT", "UPDATE"} {
			stmts = append(stmts, `CREATE TRIGGER refuse_`+table+`_`+column+`_`+op+` BEFORE `+op+` ON `+table+
				` WHEN NEW.`+column+` = '`+value+`' BEGIN SELECT RAISE(ABORT, 'refused: `+column+` = `+value+`'); END`)
		}
	}
	for _, q := range stmts {
		if _, err := st.DB.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("storetest: refuse %s.%s = %s: %v", table, column, value, err)
		}
	}
}
