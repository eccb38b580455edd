package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgxRow holds the pgx-native scan targets for one customer row. Going
// through pgx directly instead of database/sql avoids boxing every column
// in an interface, which roughly halves the cost of a streamed row; when the
// page comes in the binary formats wireColumns knows, rows are decoded from
// their raw bytes (wire.go), which skips pgx's per-column scan plans too.
type pgxRow struct {
	c                           *Customer
	birthday                    pgtype.Date
	firstAt, lastAt, insightsAt pgtype.Timestamptz
	tags, attr                  []byte
	orders, rfmR, rfmF, rfmM    int32
	dest                        []any
	names                       []string // the selected columns, in dest order
	wire                        wireRow
}

func newPgxRow(c *Customer) *pgxRow {
	r := &pgxRow{c: c, names: customerColumnNames}
	r.dest = []any{&c.ID, &c.ExternalID, &c.Email, &c.Phone, &c.FirstName, &c.LastName, &c.Locale, &c.TimeZone,
		&r.birthday, &c.EmailConsent, &c.SMSConsent, &r.tags, &r.attr, &r.orders, &c.TotalSpentCents,
		&r.firstAt, &r.lastAt, &c.AvgDaysBetween, &r.rfmR, &r.rfmF, &r.rfmM, &c.RFMSegment, &c.Lifecycle,
		&c.PAlive, &c.ExpectedPurchases90d, &c.CLV, &r.insightsAt, &c.CreatedAt, &c.UpdatedAt}
	r.wire.c = c
	return r
}

// pick keeps the scan targets of the selected positions (all for nil).
func (r *pgxRow) pick(idx []int) {
	r.dest = pick(r.dest, idx)
	if idx != nil {
		r.names = make([]string, len(idx))
		for i, k := range idx {
			r.names[i] = customerColumnNames[k]
		}
	}
}

// scan reads one row through pgx's Scan, for pages wireRow cannot decode.
func (r *pgxRow) scan(rows pgx.Rows) error {
	if err := rows.Scan(r.dest...); err != nil {
		return err
	}
	c := r.c
	c.OrdersCount, c.RFMR, c.RFMF, c.RFMM = int(r.orders), int(r.rfmR), int(r.rfmF), int(r.rfmM)
	c.Birthday = time.Time{}
	if r.birthday.Valid {
		c.Birthday = r.birthday.Time
	}
	c.FirstPurchaseAt, c.LastPurchaseAt, c.InsightsAt = utcOrZero(r.firstAt), utcOrZero(r.lastAt), utcOrZero(r.insightsAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return decodeJSONColumns(c, r.tags, r.attr)
}

func utcOrZero(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// wireDisabled makes every page go through pgx's Scan; tests set it to
// compare the two decoders.
var wireDisabled bool

// streamPagePgx is streamPage over pgx's native interface, for PostgreSQL.
func (s *Store) streamPagePgx(ctx context.Context, query string, r *pgxRow, fn func(*Customer) error,
	args ...any) (int, error) {
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: stream customers: %w", err)
	}
	defer conn.Close()
	n := 0
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		rows, err := sc.Conn().Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		raw := !wireDisabled && r.wire.bind(r.names, rows.FieldDescriptions())
		for rows.Next() {
			if raw {
				err = r.wire.decode(rows.RawValues())
			} else {
				err = r.scan(rows)
			}
			if err != nil {
				return err
			}
			n++
			if err := fn(r.c); err != nil {
				return errStop{err}
			}
		}
		return rows.Err()
	})
	var stop errStop
	if errors.As(err, &stop) {
		return n, stop.err
	}
	if err != nil {
		return n, fmt.Errorf("store: stream customers %s: %w", pageName(args), err)
	}
	return n, nil
}

// customerColumnNames are the names in customerColumns, in order; the scan
// targets of customerScanner and pgxRow follow the same order.
var customerColumnNames = func() []string {
	names := strings.Split(customerColumns, ",")
	for i, n := range names {
		names[i] = strings.TrimSpace(n)
	}
	return names
}()

// projection returns the positions in customerColumnNames of id and the
// requested columns, in table order; nil columns select all.
func projection(columns []string) ([]int, error) {
	if columns == nil {
		return nil, nil
	}
	want := map[string]bool{"id": true}
	for _, c := range columns {
		if !slices.Contains(customerColumnNames, c) {
			return nil, fmt.Errorf("store: stream customers: no column %q; the columns are %s", c, customerColumns)
		}
		want[c] = true
	}
	var idx []int
	for i, n := range customerColumnNames {
		if want[n] {
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// pick keeps the scan targets of the selected positions (all for nil).
func pick(dest []any, idx []int) []any {
	if idx == nil {
		return dest
	}
	out := make([]any, len(idx))
	for i, k := range idx {
		out[i] = dest[k]
	}
	return out
}

// columnList is the SELECT list of the selected positions (all for nil).
func columnList(idx []int) string {
	if idx == nil {
		return customerColumns
	}
	names := make([]string, len(idx))
	for i, k := range idx {
		names[i] = customerColumnNames[k]
	}
	return strings.Join(names, ", ")
}
