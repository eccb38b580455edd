package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgxRow holds the pgx-native scan targets for one customer row. Going
// through pgx directly instead of database/sql avoids boxing every column
// in an interface, which roughly halves the cost of a streamed row.
type pgxRow struct {
	c                           *Customer
	birthday                    pgtype.Date
	firstAt, lastAt, insightsAt pgtype.Timestamptz
	tags, attr                  []byte
	orders, rfmR, rfmF, rfmM    int32
	dest                        []any
}

func newPgxRow(c *Customer) *pgxRow {
	r := &pgxRow{c: c}
	r.dest = []any{&c.ID, &c.ExternalID, &c.Email, &c.Phone, &c.FirstName, &c.LastName, &c.Locale, &c.TimeZone,
		&r.birthday, &c.EmailConsent, &c.SMSConsent, &r.tags, &r.attr, &r.orders, &c.TotalSpentCents,
		&r.firstAt, &r.lastAt, &c.AvgDaysBetween, &r.rfmR, &r.rfmF, &r.rfmM, &c.RFMSegment, &c.Lifecycle,
		&c.PAlive, &c.ExpectedPurchases90d, &c.CLV, &r.insightsAt, &c.CreatedAt, &c.UpdatedAt}
	return r
}

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

// streamPagePgx is streamPage over pgx's native interface, for PostgreSQL.
func (s *Store) streamPagePgx(ctx context.Context, query string, r *pgxRow, after, upTo int64,
	pageSize int, fn func(*Customer) error) (int, error) {
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
		rows, err := sc.Conn().Query(ctx, query, after, upTo, pageSize)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := r.scan(rows); err != nil {
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
		return n, fmt.Errorf("store: stream customers after id %d: %w", after, err)
	}
	return n, nil
}
