package synth

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tidings-crm/tidings/store"
)

// EnsureProfiles makes the customers table of the migrated store st hold
// exactly the n rows Profiles(n, seed, now) yields, and reports whether it
// had to write them. A table that already holds n customers with the last
// one's external id "c<n>", and whose first rows carry the purchase metrics
// this generator draws (not an older generator's), is taken as filled by an
// earlier call and kept, so a benchmark pays the load once; any other
// content is deleted first (with the ledger rows that reference it). Use it
// on a database of its own.
func EnsureProfiles(ctx context.Context, st *store.Store, n int, seed uint64, now time.Time) (bool, error) {
	var count int64
	var lastExt string
	err := st.DB.QueryRowContext(ctx, `SELECT count(*), coalesce(max(CASE WHEN id = `+fmt.Sprint(n)+
		` THEN external_id END), '') FROM customers`).Scan(&count, &lastExt)
	if err != nil {
		return false, fmt.Errorf("synth: count customers: %w", err)
	}
	if count == int64(n) && lastExt == fmt.Sprintf("c%d", n) {
		same, err := sameGenerator(ctx, st, n, seed, now)
		if err != nil || same {
			return false, err
		}
	}
	if _, err := st.DB.ExecContext(ctx, `DELETE FROM customers`); err != nil {
		return false, fmt.Errorf("synth: empty customers: %w", err)
	}
	next, stop := iter.Pull(Profiles(n, seed, now))
	defer stop()
	// Every column of the registry, as the store writes it.
	err = writeRows(ctx, st, "customers", store.CustomerColumns(), func() ([]any, bool, error) {
		c, ok := next()
		if !ok {
			return nil, false, nil
		}
		vals, err := store.CustomerValues(st.Dialect, c)
		return vals, true, err
	})
	if err == nil && st.Dialect == store.Postgres {
		_, err = st.DB.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('customers', 'id'), max(id)) FROM customers`)
	}
	if err != nil {
		return false, fmt.Errorf("synth: fill %d customers: %w", n, err)
	}
	return true, nil
}

// sameGenerator reports whether the stored first customers have the
// purchase metrics (and 90-day spend) Profiles draws for them now: a fill
// kept from before a change of the generator or the schema would otherwise
// disagree with what a benchmark expects of it.
func sameGenerator(ctx context.Context, st *store.Store, n int, seed uint64, now time.Time) (bool, error) {
	const probe = 20
	i := 0
	for c := range Profiles(min(n, probe), seed, now) {
		i++
		stored, err := st.CustomerByID(ctx, int64(i))
		if err != nil {
			return false, fmt.Errorf("synth: read customer %d: %w", i, err)
		}
		if stored.OrdersCount != c.OrdersCount || stored.TotalSpentCents != c.TotalSpentCents ||
			!stored.LastPurchaseAt.Equal(c.LastPurchaseAt) || stored.Spend90dCents != c.Spend90dCents {
			return false, nil
		}
	}
	return true, nil
}

// EnsureHistories is EnsureProfiles with the customers' purchases: the
// purchases table holds what Generate(n, seed, now) draws, customer i's
// under id i (Profiles and Generate draw alike, so each row's metrics are
// those of its purchases). The purchases are kept when the customers were
// and some are there; otherwise they are rewritten. It is how the insights
// refresh benchmark gets a million purchase histories in a minute instead
// of an hour of imports.
func EnsureHistories(ctx context.Context, st *store.Store, n int, seed uint64, now time.Time) (bool, error) {
	wrote, err := EnsureProfiles(ctx, st, n, seed, now)
	if err != nil {
		return false, err
	}
	var count int64
	if err := st.DB.QueryRowContext(ctx, `SELECT count(*) FROM purchases`).Scan(&count); err != nil {
		return false, fmt.Errorf("synth: count purchases: %w", err)
	}
	if !wrote && count > 0 {
		return false, nil
	}
	if _, err := st.DB.ExecContext(ctx, `DELETE FROM purchases`); err != nil {
		return false, fmt.Errorf("synth: empty purchases: %w", err)
	}
	next, stop := iter.Pull(purchaseValues(n, seed, now))
	defer stop()
	err = writeRows(ctx, st, "purchases", purchaseColumns, func() ([]any, bool, error) {
		vals, ok := next()
		return vals, ok, nil
	})
	if err != nil {
		return false, fmt.Errorf("synth: fill the purchases of %d customers: %w", n, err)
	}
	return true, nil
}

// purchaseColumns are the purchase columns EnsureHistories writes, in the
// order of purchaseValues.
var purchaseColumns = []string{"order_id", "customer_id", "amount_cents", "currency", "quantity", "items", "occurred_at"}

// purchaseValues yields Generate's purchases as rows of purchaseColumns.
func purchaseValues(n int, seed uint64, now time.Time) iter.Seq[[]any] {
	return func(yield func([]any) bool) {
		errStop := errors.New("stop")
		id := int64(0)
		_ = Generate(n, seed, now, func(c Customer) error {
			id++
			for _, p := range c.Purchases {
				if !yield([]any{p.OrderID, id, p.AmountCents, p.Currency, p.Quantity, string(p.Items), p.OccurredAt}) {
					return errStop
				}
			}
			return nil
		})
	}
}

// rowSource yields the rows to write one at a time; ok is false after the
// last.
type rowSource func() (vals []any, ok bool, err error)

// writeRows writes every row of src into table: COPY on PostgreSQL, one
// prepared INSERT committed every 20,000 rows on SQLite.
func writeRows(ctx context.Context, st *store.Store, table string, cols []string, src rowSource) error {
	if st.Dialect == store.Postgres {
		return copyPostgres(ctx, st, table, cols, src)
	}
	return insertSQLite(ctx, st, table, cols, src)
}

// copyPostgres streams the rows through COPY.
func copyPostgres(ctx context.Context, st *store.Store, table string, cols []string, src rowSource) error {
	conn, err := st.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		copySrc := pgx.CopyFromFunc(func() ([]any, error) {
			vals, ok, err := src()
			if !ok || err != nil {
				return nil, err
			}
			return vals, nil
		})
		_, err := pc.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, copySrc)
		return err
	})
}

// insertSQLite inserts the rows with one prepared statement, committing
// every 20,000 rows.
func insertSQLite(ctx context.Context, st *store.Store, table string, cols []string, src rowSource) error {
	q := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`
	tx, err := st.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	for k := 1; ; k++ {
		vals, ok, err := src()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return fmt.Errorf("%s row %d: %w", table, k, err)
		}
		if k%20000 == 0 {
			if err := tx.Commit(); err != nil {
				return err
			}
			if tx, err = st.DB.BeginTx(ctx, nil); err != nil {
				return err
			}
			if stmt, err = tx.PrepareContext(ctx, q); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}
