package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Customer is one row of the customers table. Nullable times are the zero
// time.Time when NULL (no birthday, no purchase yet, never scored); all times
// are UTC. Money is in cents.
type Customer struct {
	ID           int64          `db:"id"`
	ExternalID   string         `db:"external_id"` // the shop's own customer id
	Email        string         `db:"email"`
	Phone        string         `db:"phone"` // E.164, e.g. +33612345678
	FirstName    string         `db:"first_name"`
	LastName     string         `db:"last_name"`
	Locale       string         `db:"locale"`
	TimeZone     string         `db:"time_zone"` // IANA name; empty = the configured default
	Birthday     time.Time      `db:"birthday"`  // date only, UTC midnight; zero when unknown
	EmailConsent bool           `db:"email_consent"`
	SMSConsent   bool           `db:"sms_consent"`
	Tags         []string       `db:"tags"`
	Attributes   map[string]any `db:"attributes"` // custom attributes; nil when none

	// Purchase metrics, recomputed by UpsertPurchases.
	OrdersCount     int       `db:"orders_count"`
	TotalSpentCents int64     `db:"total_spent_cents"`
	FirstPurchaseAt time.Time `db:"first_purchase_at"`
	LastPurchaseAt  time.Time `db:"last_purchase_at"`
	AvgDaysBetween  float64   `db:"avg_days_between"` // (last-first) in days / (orders-1); 0 with <2 orders

	// Intelligence, written by the insights job.
	RFMR                 int       `db:"rfm_r"`
	RFMF                 int       `db:"rfm_f"`
	RFMM                 int       `db:"rfm_m"`
	RFMSegment           string    `db:"rfm_segment"`
	Lifecycle            string    `db:"lifecycle"`
	PAlive               float64   `db:"p_alive"`
	ExpectedPurchases90d float64   `db:"expected_purchases_90d"`
	CLV                  float64   `db:"clv"`
	Spend90dCents        int64     `db:"spend_90d_cents"`      // orders of the 90 days up to InsightsAt
	SpendPrev90dCents    int64     `db:"spend_prev_90d_cents"` // orders of the 90 days before those
	Orders90d            int       `db:"orders_90d"`
	OrdersPrev90d        int       `db:"orders_prev_90d"`
	ValueTrend           float64   `db:"value_trend"` // see insights.ValueChurnRule
	ValueChurn           bool      `db:"value_churn"`
	Tier                 string    `db:"tier"` // loyalty tier; "" for prospects and without a tiers file
	ABC                  string    `db:"abc"`  // A, B or C; "" for prospects
	NextPurchaseDays     int       `db:"next_purchase_days"`
	NPS                  int       `db:"nps"`  // latest NPS answer, -1 when never answered
	CSAT                 int       `db:"csat"` // latest CSAT answer, -1 when never answered
	InsightsAt           time.Time `db:"insights_at"`

	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// TotalSpent is TotalSpentCents in currency units, for display and rules.
func (c *Customer) TotalSpent() float64 { return float64(c.TotalSpentCents) / 100 }

// CustomerByID returns the customer with the given id, or ErrNotFound.
func (s *Store) CustomerByID(ctx context.Context, id int64) (*Customer, error) {
	return s.customerWhere(ctx, `id = ?`, id)
}

// CustomerByExternalID returns the customer with the shop's id externalID, or
// ErrNotFound.
func (s *Store) CustomerByExternalID(ctx context.Context, externalID string) (*Customer, error) {
	return s.customerWhere(ctx, `external_id = ?`, externalID)
}

func (s *Store) customerWhere(ctx context.Context, where string, arg any) (*Customer, error) {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT `+customerColumns()+` FROM customers WHERE `+where), arg)
	if err != nil {
		return nil, fmt.Errorf("store: read customer %v: %w", arg, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: read customer %v: %w", arg, err)
		}
		return nil, fmt.Errorf("store: customer %v: %w", arg, ErrNotFound)
	}
	c := new(Customer)
	if err := newCustomerRow(c, nil).scan(rows); err != nil {
		return nil, fmt.Errorf("store: read customer %v: %w", arg, err)
	}
	return c, nil
}

// CountCustomers returns the number of customers.
func (s *Store) CountCustomers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.DB.GetContext(ctx, &n, `SELECT count(*) FROM customers`); err != nil {
		return 0, fmt.Errorf("store: count customers: %w", err)
	}
	return n, nil
}

// CountPurchases returns the number of purchases.
func (s *Store) CountPurchases(ctx context.Context) (int64, error) {
	var n int64
	if err := s.DB.GetContext(ctx, &n, `SELECT count(*) FROM purchases`); err != nil {
		return 0, fmt.Errorf("store: count purchases: %w", err)
	}
	return n, nil
}

// StreamOptions bounds and paces StreamCustomers.
type StreamOptions struct {
	AfterID  int64 // stream ids > AfterID (0 = from the start)
	UpToID   int64 // and <= UpToID (0 = to the end); with AfterID this is a shard
	PageSize int   // rows per query (default 5,000)
	// Columns, when set, are the only customer columns read besides id
	// (names as in the table, e.g. "email", "rfm_segment"); the other
	// fields of the streamed Customer stay zero. An audience reads the few
	// its rule needs this way. Nil reads every column.
	Columns []string
	// AfterPage, when set, runs after each page, once the page's connection
	// is back in the pool: fn can batch work that needs the database (such
	// as CustomersByID for the rows it kept) without holding two
	// connections at once. Its error stops the stream and is returned as is.
	AfterPage func() error
	// BeforePage, when set, runs before each page's query, with no
	// connection held, given the page's bounds: the ids in (after, upTo],
	// the first limit of them. fn can then read what it needs of the page's
	// customers in one query (their event history). It returns the last id
	// the page may hold (0: no other bound than upTo): the page then stops
	// there, so that what was read (before the page, or ahead of it while
	// the previous page streamed) covers every customer streamed even if
	// some were deleted meanwhile; the next page starts after that bound.
	// Its error stops the stream and is returned as is.
	BeforePage func(after, upTo int64, limit int) (int64, error)
}

// StreamCustomers calls fn for every customer in id order, one page query at
// a time (keyset pagination), so memory stays flat whatever the table size.
// It is the hot path of audience evaluation.
//
// fn receives the same *Customer for every row, overwritten in place: it
// must not keep the pointer, nor its Tags or Attributes, after it returns
// (copy what it needs). A non-nil error from fn stops the stream and is
// returned as is.
func (s *Store) StreamCustomers(ctx context.Context, fn func(*Customer) error, opts StreamOptions) error {
	pageSize := opts.PageSize
	if pageSize <= 0 {
		pageSize = 5000
	}
	upTo := opts.UpToID
	if upTo <= 0 {
		upTo = 1<<63 - 1
	}
	cols, err := projection(opts.Columns)
	if err != nil {
		return err
	}
	c := new(Customer)
	r := newCustomerRow(c, cols)
	query := s.DB.Rebind(`SELECT ` + columnList(cols) + ` FROM customers WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`)
	after := opts.AfterID
	for {
		var (
			n   int
			err error
		)
		pageUpTo := upTo
		if opts.BeforePage != nil {
			bound, err := opts.BeforePage(after, upTo, pageSize)
			if err != nil {
				return err
			}
			if bound > after && bound < upTo {
				pageUpTo = bound
			}
		}
		if s.Dialect == Postgres {
			n, err = s.streamPagePgx(ctx, query, r, fn, after, pageUpTo, pageSize)
		} else {
			n, err = s.streamPage(ctx, query, r, fn, after, pageUpTo, pageSize)
		}
		if err != nil {
			return err
		}
		if opts.AfterPage != nil {
			if err := opts.AfterPage(); err != nil {
				return err
			}
		}
		switch {
		case n == pageSize:
			after = c.ID
		case pageUpTo < upTo:
			after = pageUpTo // a bounded page short of rows: some were deleted
		default:
			return nil
		}
	}
}

// CustomersByID calls fn, in id order, for each customer among ids that
// exists, reading only columns besides id (names as in StreamOptions.Columns;
// nil reads every column). fn receives the same *Customer for every row,
// overwritten in place, as with StreamCustomers. An audience uses it to read
// what planning needs of the few customers its rule kept, instead of
// streaming those columns for everyone. A non-nil error from fn stops the
// read and is returned as is.
func (s *Store) CustomersByID(ctx context.Context, ids []int64, columns []string, fn func(*Customer) error) error {
	if len(ids) == 0 {
		return nil
	}
	cols, err := projection(columns)
	if err != nil {
		return err
	}
	r := newCustomerRow(new(Customer), cols)
	if s.Dialect == Postgres {
		query := `SELECT ` + columnList(cols) + ` FROM customers WHERE id = ANY($1) ORDER BY id`
		_, err = s.streamPagePgx(ctx, query, r, fn, ids)
		return err
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("store: read customers by id: %w", err)
	}
	query := `SELECT ` + columnList(cols) + ` FROM customers WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`
	_, err = s.streamPage(ctx, query, r, fn, string(list))
	return err
}

// errStop wraps an error from the caller's fn so streamPage can tell it from
// its own and return it unwrapped.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

// streamPage runs one page query of customers (args are its parameters,
// the first the id it starts after) and calls fn for each row.
func (s *Store) streamPage(ctx context.Context, query string, r *customerRow, fn func(*Customer) error,
	args ...any) (int, error) {
	rows, err := s.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("store: stream customers %s: %w", pageName(args), err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if err := r.scan(rows); err != nil {
			return n, fmt.Errorf("store: stream customers: %w", err)
		}
		n++
		if err := fn(r.c); err != nil {
			return n, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("store: stream customers %s: %w", pageName(args), err)
	}
	return n, nil
}

// pageName names a page query in errors by its first argument: the id a
// stream page starts after, or the ids a CustomersByID read asked for.
func pageName(args []any) string {
	switch v := args[0].(type) {
	case int64:
		return fmt.Sprintf("after id %d", v)
	case []int64:
		return fmt.Sprintf("by id (%d ids from %d)", len(v), v[0])
	}
	return "by id"
}
