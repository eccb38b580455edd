package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// This file holds what the customer-intelligence refresh (worker.RefreshInsights)
// needs from the database: every customer with their purchase history, a batch
// write of the scores that records lifecycle changes, the fitted models, and
// the aggregates the report prints.
//
// Stored conventions for the intelligence columns (what rules see):
//   - prospects (no purchase by the refresh clock): rfm 0/0/0 and segment "",
//     lifecycle "prospect", p_alive 1, expected_purchases_90d 0, clv 0, tier
//     and abc "", next_purchase_days 99999 (insights.NoNextPurchase). A
//     prospect has not bought, so it cannot have stopped buying: a churn rule
//     such as `p_alive < 0.3` never matches one by accident; target them with
//     lifecycle == "prospect".
//   - buyers: the count model's P(alive) in [0, 1] (under BG/NBD 1 for
//     single-purchase customers, as that model has it), expected purchases
//     over 90 days and CLV >= 0.
//   - never refreshed (insights_at NULL): the schema defaults (p_alive 0).
//
// The models' "unknown" value (-1) is never stored.

// PurchasePoint is one purchase as the insights refresh reads it.
type PurchasePoint struct {
	OccurredAt  time.Time // UTC
	AmountCents int64
}

// CustomerHistory is one customer as the insights refresh reads it: the
// lifecycle stage stored by the previous refresh ("" when never refreshed)
// and the purchases up to the stream's clock, oldest first (same-time
// purchases in insertion order). The refresh derives every per-customer
// metric from Purchases, so a refresh "as of" a past date ignores later
// purchases.
type CustomerHistory struct {
	ID        int64
	Lifecycle string
	Purchases []PurchasePoint
}

// HistoryOptions bound and pace StreamCustomerHistories.
type HistoryOptions struct {
	Until    time.Time // only purchases at or before Until (zero = all)
	AfterID  int64     // customers with id > AfterID (0 = from the start)
	UpToID   int64     // and id <= UpToID (0 = to the end)
	PageSize int       // customers per page (default 2,000)
}

// StreamCustomerHistories calls fn for every customer in id order, with
// their purchases ordered by time. It reads one page of customers (keyset
// pagination on id) and then their purchases with one range query ordered by
// (customer_id, occurred_at, id), so memory is bounded by a page whatever the
// table sizes, and no read is open while fn runs (fn may write).
//
// fn receives a *CustomerHistory whose Purchases share a buffer reused for
// the next page: it must not keep them after it returns. A non-nil error
// from fn stops the stream and is returned as is.
func (s *Store) StreamCustomerHistories(ctx context.Context, opts HistoryOptions, fn func(*CustomerHistory) error) error {
	pageSize := opts.PageSize
	if pageSize <= 0 {
		pageSize = 2000
	}
	upTo := opts.UpToID
	if upTo <= 0 {
		upTo = math.MaxInt64
	}
	until := opts.Until
	if until.IsZero() {
		until = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	}
	var (
		page []CustomerHistory
		buf  []PurchasePoint
	)
	for after := opts.AfterID; ; {
		var err error
		if page, err = s.historyPage(ctx, page[:0], after, upTo, pageSize); err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if buf, err = s.historyPurchases(ctx, page, buf[:0], after, until.UTC()); err != nil {
			return err
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

func (s *Store) historyPage(ctx context.Context, page []CustomerHistory, after, upTo int64, n int) ([]CustomerHistory, error) {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT id, lifecycle FROM customers
		WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`), after, upTo, n)
	if err != nil {
		return nil, fmt.Errorf("store: stream customer histories after id %d: %w", after, err)
	}
	defer rows.Close()
	for rows.Next() {
		var h CustomerHistory
		if err := rows.Scan(int64Into{&h.ID}, &h.Lifecycle); err != nil {
			return nil, fmt.Errorf("store: stream customer histories: %w", err)
		}
		page = append(page, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: stream customer histories after id %d: %w", after, err)
	}
	return page, nil
}

// historyPurchases reads the purchases of the customers in page (ids in
// (after, last id]) into buf and points each history's Purchases into it.
func (s *Store) historyPurchases(ctx context.Context, page []CustomerHistory, buf []PurchasePoint, after int64,
	until time.Time) ([]PurchasePoint, error) {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT customer_id, occurred_at, amount_cents FROM purchases
		WHERE customer_id > ? AND customer_id <= ? AND occurred_at <= ?
		ORDER BY customer_id, occurred_at, id`), after, page[len(page)-1].ID, until)
	if err != nil {
		return nil, fmt.Errorf("store: read purchases of customers %d-%d: %w", after+1, page[len(page)-1].ID, err)
	}
	defer rows.Close()
	owners := make([]int64, 0, len(buf))
	for rows.Next() {
		var (
			id int64
			p  PurchasePoint
		)
		if err := rows.Scan(int64Into{&id}, timeInto{&p.OccurredAt}, int64Into{&p.AmountCents}); err != nil {
			return nil, fmt.Errorf("store: read purchases: %w", err)
		}
		owners, buf = append(owners, id), append(buf, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read purchases of customers %d-%d: %w", after+1, page[len(page)-1].ID, err)
	}
	// Both lists are ordered by customer id: walk them together.
	j := 0
	for i := range page {
		for j < len(owners) && owners[j] < page[i].ID {
			j++ // a purchase of a customer created after the page was read
		}
		start := j
		for j < len(owners) && owners[j] == page[i].ID {
			j++
		}
		page[i].Purchases = buf[start:j:j]
	}
	return buf, nil
}

// InsightsModel is one fitted model as recorded by a refresh. Params is the
// refresh's own JSON (the store does not interpret it).
type InsightsModel struct {
	ID            int64           `db:"id"`
	FittedAt      time.Time       `db:"fitted_at"` // the refresh clock
	Params        json.RawMessage `db:"params"`
	Customers     int             `db:"customers"` // customers the model was fitted on
	LogLikelihood float64         `db:"log_likelihood"`
	CreatedAt     time.Time       `db:"created_at"` // wall time of the write
}

// SaveInsightsModel records a fitted model and returns its id.
func (s *Store) SaveInsightsModel(ctx context.Context, m InsightsModel) (int64, error) {
	params, err := canonicalJSON(m.Params, "{}")
	if err != nil {
		return 0, fmt.Errorf("store: save insights model: params are not valid JSON: %w", err)
	}
	var id int64
	err = s.DB.QueryRowContext(ctx, s.DB.Rebind(`INSERT INTO insights_models
		(fitted_at, params, customers, log_likelihood) VALUES (?, ?, ?, ?) RETURNING id`),
		m.FittedAt.UTC(), params, m.Customers, m.LogLikelihood).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: save insights model: %w", err)
	}
	return id, nil
}

// LatestInsightsModel returns the most recently recorded model (whatever its
// fitted_at clock), or ErrNotFound when no refresh has fitted one yet.
func (s *Store) LatestInsightsModel(ctx context.Context) (*InsightsModel, error) {
	var (
		m      InsightsModel
		params []byte
	)
	err := s.DB.QueryRowContext(ctx, `SELECT id, fitted_at, params, customers, log_likelihood, created_at
		FROM insights_models ORDER BY id DESC LIMIT 1`).Scan(int64Into{&m.ID}, timeInto{&m.FittedAt}, &params,
		intInto{&m.Customers}, floatInto{&m.LogLikelihood}, timeInto{&m.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: latest insights model: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: latest insights model: %w", err)
	}
	canon, err := canonicalJSON(params, "{}") // the same bytes from both dialects
	if err != nil {
		return nil, fmt.Errorf("store: latest insights model: decode params: %w", err)
	}
	m.Params = json.RawMessage(canon)
	return &m, nil
}

// NameCount is a label with the number of customers carrying it.
type NameCount struct {
	Name  string
	Count int
}

// InsightsSummary is what the stored intelligence looks like across the
// base, for `tidings insights report`.
type InsightsSummary struct {
	Customers int       // every customer
	Scored    int       // customers with insights_at set
	LastAt    time.Time // the latest insights_at (zero when none)
	Segments  []NameCount
	Lifecycle []NameCount
	// PAliveDeciles counts scored buyers (lifecycle not prospect) by
	// P(alive) in [k/10, (k+1)/10), the last bucket including 1.
	PAliveDeciles [10]int
}

// decileExpr is, per dialect, the SQL for p_alive's bucket 0-9 (floor of
// p_alive x 10, 1.0 in bucket 9).
var decileExpr = map[Dialect]string{
	Postgres: `CAST(LEAST(floor(p_alive * 10), 9) AS INTEGER)`,
	SQLite:   `min(CAST(p_alive * 10 AS INTEGER), 9)`,
}

// InsightsSummary counts customers per RFM segment and lifecycle stage
// (largest first) and buyers per P(alive) decile, over the stored scores.
func (s *Store) InsightsSummary(ctx context.Context) (InsightsSummary, error) {
	var sum InsightsSummary
	if err := s.DB.QueryRowContext(ctx, `SELECT count(*), count(insights_at) FROM customers`).
		Scan(intInto{&sum.Customers}, intInto{&sum.Scored}); err != nil {
		return sum, fmt.Errorf("store: insights summary: %w", err)
	}
	if err := s.DB.QueryRowContext(ctx, `SELECT max(insights_at) FROM customers`).Scan(timeInto{&sum.LastAt}); err != nil {
		return sum, fmt.Errorf("store: insights summary: %w", err)
	}
	var err error
	if sum.Segments, err = s.countBy(ctx, `rfm_segment`, `rfm_segment <> ''`); err != nil {
		return sum, err
	}
	if sum.Lifecycle, err = s.countBy(ctx, `lifecycle`, `lifecycle <> ''`); err != nil {
		return sum, err
	}
	buckets, err := s.countBy(ctx, decileExpr[s.Dialect], `insights_at IS NOT NULL AND lifecycle <> 'prospect'`)
	if err != nil {
		return sum, err
	}
	for _, b := range buckets {
		var k int
		if _, err := fmt.Sscan(b.Name, &k); err == nil && k >= 0 && k < 10 {
			sum.PAliveDeciles[k] += b.Count
		}
	}
	return sum, nil
}

// countBy counts customers grouped by expr (a constant SQL expression from
// this file, never input) where cond holds, largest group first.
func (s *Store) countBy(ctx context.Context, expr, cond string) ([]NameCount, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+expr+` AS k, count(*) FROM customers WHERE `+cond+` GROUP BY k`)
	if err != nil {
		return nil, fmt.Errorf("store: count customers by %s: %w", expr, err)
	}
	defer rows.Close()
	var out []NameCount
	for rows.Next() {
		var (
			k any
			n int
		)
		if err := rows.Scan(&k, intInto{&n}); err != nil {
			return nil, fmt.Errorf("store: count customers by %s: %w", expr, err)
		}
		name := fmt.Sprint(k)
		if b, ok := k.([]byte); ok {
			name = string(b)
		}
		out = append(out, NameCount{Name: name, Count: n})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: count customers by %s: %w", expr, err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
