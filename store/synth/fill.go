package synth

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tidings-crm/tidings/store"
)

// fillColumns are the customer columns Fill writes, in the order of
// fillValues.
var fillColumns = []string{"id", "external_id", "email", "phone", "first_name", "last_name", "locale",
	"time_zone", "birthday", "email_consent", "sms_consent", "tags", "attributes", "orders_count",
	"total_spent_cents", "first_purchase_at", "last_purchase_at", "avg_days_between", "rfm_r", "rfm_f",
	"rfm_m", "rfm_segment", "lifecycle", "p_alive", "expected_purchases_90d", "clv", "insights_at",
	"created_at", "updated_at"}

// EnsureProfiles makes the customers table of the migrated store st hold
// exactly the n rows Profiles(n, seed, now) yields, and reports whether it
// had to write them. A table that already holds n customers with the last
// one's external id "c<n>" is taken as filled by an earlier call and kept,
// so a benchmark pays the load once; any other content is deleted first
// (with the ledger rows that reference it). Use it on a database of its own.
func EnsureProfiles(ctx context.Context, st *store.Store, n int, seed uint64, now time.Time) (bool, error) {
	var count int64
	var lastExt string
	err := st.DB.QueryRowContext(ctx, `SELECT count(*), coalesce(max(CASE WHEN id = `+fmt.Sprint(n)+
		` THEN external_id END), '') FROM customers`).Scan(&count, &lastExt)
	if err != nil {
		return false, fmt.Errorf("synth: count customers: %w", err)
	}
	if count == int64(n) && lastExt == fmt.Sprintf("c%d", n) {
		return false, nil
	}
	if _, err := st.DB.ExecContext(ctx, `DELETE FROM customers`); err != nil {
		return false, fmt.Errorf("synth: empty customers: %w", err)
	}
	rows := Profiles(n, seed, now)
	if st.Dialect == store.Postgres {
		err = copyPostgres(ctx, st, rows)
	} else {
		err = insertSQLite(ctx, st, rows)
	}
	if err != nil {
		return false, fmt.Errorf("synth: fill %d customers: %w", n, err)
	}
	return true, nil
}

// fillValues is one row of fillColumns; birthday is in the dialect's form.
func fillValues(c *store.Customer, birthday any) ([]any, error) {
	tags, err := json.Marshal(orEmpty(c.Tags))
	if err != nil {
		return nil, err
	}
	attr, err := json.Marshal(c.Attributes)
	if err != nil {
		return nil, err
	}
	return []any{c.ID, c.ExternalID, c.Email, c.Phone, c.FirstName, c.LastName, c.Locale, c.TimeZone,
		birthday, c.EmailConsent, c.SMSConsent, string(tags), string(attr), c.OrdersCount,
		c.TotalSpentCents, nullTime(c.FirstPurchaseAt), nullTime(c.LastPurchaseAt), c.AvgDaysBetween,
		c.RFMR, c.RFMF, c.RFMM, c.RFMSegment, c.Lifecycle, c.PAlive, c.ExpectedPurchases90d, c.CLV,
		nullTime(c.InsightsAt), c.CreatedAt, c.UpdatedAt}, nil
}

// copyPostgres streams the rows through COPY, then moves the id sequence
// past them.
func copyPostgres(ctx context.Context, st *store.Store, rows iter.Seq[*store.Customer]) error {
	conn, err := st.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		next, stop := iter.Pull(rows)
		defer stop()
		src := pgx.CopyFromFunc(func() ([]any, error) {
			c, ok := next()
			if !ok {
				return nil, nil
			}
			return fillValues(c, nullTime(c.Birthday))
		})
		_, err := pc.Conn().CopyFrom(ctx, pgx.Identifier{"customers"}, fillColumns, src)
		return err
	})
	if err != nil {
		return err
	}
	_, err = st.DB.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('customers', 'id'), max(id)) FROM customers`)
	return err
}

// insertSQLite inserts the rows with one prepared statement, committing
// every 20,000 rows.
func insertSQLite(ctx context.Context, st *store.Store, rows iter.Seq[*store.Customer]) error {
	q := `INSERT INTO customers (` + strings.Join(fillColumns, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(fillColumns)-1) + `)`
	tx, err := st.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	k := 0
	for c := range rows {
		var birthday any
		if !c.Birthday.IsZero() {
			birthday = c.Birthday.Format(time.DateOnly)
		}
		vals, err := fillValues(c, birthday)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return fmt.Errorf("customer %s: %w", c.ExternalID, err)
		}
		if k++; k%20000 == 0 {
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

func orEmpty(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}
