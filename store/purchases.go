package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// PurchaseInput is one purchase to record, keyed on the shop's OrderID.
// Amounts are fixed-point cents: 1234 means 12.34 in Currency.
type PurchaseInput struct {
	OrderID            string
	CustomerExternalID string // created as a bare customer when unknown
	AmountCents        int64
	Currency           string          // ISO 4217; empty means USD
	Quantity           int             // number of items
	Items              json.RawMessage // a JSON array of line items; empty means []
	OccurredAt         time.Time
}

// purchaseRow is a purchase as stored, in comparable form.
type purchaseRow struct {
	customerID  int64
	amountCents int64
	currency    string
	quantity    int
	items       string // canonical JSON
	occurredAt  time.Time
}

func (a purchaseRow) equal(b purchaseRow) bool {
	return a.customerID == b.customerID && a.amountCents == b.amountCents && a.currency == b.currency &&
		a.quantity == b.quantity && a.items == b.items && a.occurredAt.Equal(b.occurredAt)
}

// UpsertPurchases records purchases keyed on order id, in one transaction:
// it creates the customers it does not know yet (by external id), inserts new
// orders, rewrites changed ones, leaves identical ones untouched (Unchanged),
// then recomputes the purchase metrics of every customer whose purchases
// changed with one set-based UPDATE over the purchases table. Re-importing the
// same purchases therefore changes nothing.
func (s *Store) UpsertPurchases(ctx context.Context, in []PurchaseInput) (UpsertResult, error) {
	var res UpsertResult
	if len(in) == 0 {
		return res, nil
	}
	rows, err := purchaseRows(in)
	if err != nil {
		return res, fmt.Errorf("store: upsert purchases: %w", err)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		res, err = s.upsertPurchasesTx(ctx, tx, in, rows, nil)
		return err
	})
	if err != nil {
		return UpsertResult{}, fmt.Errorf("store: upsert purchases: %w", err)
	}
	return res, nil
}

// UpsertPurchasesEach writes purchases as UpsertPurchases does, and when
// the batch is refused for the data of some row (RowFault), writes the rows
// one by one instead, each under a savepoint (its customer, its order and
// the customer's metrics), so that only the refused rows are left out: they
// are returned by index, and the others are stored.
func (s *Store) UpsertPurchasesEach(ctx context.Context, in []PurchaseInput) (UpsertResult, []RowError, error) {
	return s.batchOrEach(ctx, "purchases", len(in), func() (UpsertResult, error) { return s.UpsertPurchases(ctx, in) },
		func(tx *sqlx.Tx, i int) (UpsertResult, error) {
			one := in[i : i+1]
			rows, err := purchaseRows(one)
			if err != nil {
				return UpsertResult{}, err
			}
			return s.upsertPurchasesTx(ctx, tx, one, rows, nil)
		})
}

// purchaseRows validates purchases and returns them in stored, comparable
// form (rows[i] is in[i]), for upsertPurchasesTx.
func purchaseRows(in []PurchaseInput) ([]purchaseRow, error) {
	rows := make([]purchaseRow, len(in))
	for i, p := range in {
		if p.OrderID == "" || p.CustomerExternalID == "" {
			return nil, fmt.Errorf("input %d needs an order id and a customer id: %w", i, ErrInvalidInput)
		}
		if p.OccurredAt.IsZero() {
			return nil, fmt.Errorf("order %q has no time: %w", p.OrderID, ErrInvalidInput)
		}
		items, err := canonicalJSON(p.Items, "[]")
		if err != nil {
			return nil, fmt.Errorf("order %q: items are not valid JSON: %w (%w)", p.OrderID, err, ErrInvalidInput)
		}
		cur := p.Currency
		if cur == "" {
			cur = "USD"
		}
		// PostgreSQL keeps microseconds; compare what will be stored.
		rows[i] = purchaseRow{amountCents: p.AmountCents, currency: cur, quantity: p.Quantity,
			items: items, occurredAt: p.OccurredAt.UTC().Truncate(time.Microsecond)}
	}
	return rows, nil
}

// upsertPurchasesTx writes purchases inside tx. ids maps the customers'
// external ids to their ids when the caller has locked them already
// (AcceptEvents); nil creates the missing customers and locks them all, so
// an import and the webhook recomputing one customer's metrics at the same
// time see each other's purchases.
func (s *Store) upsertPurchasesTx(ctx context.Context, tx *sqlx.Tx, in []PurchaseInput, rows []purchaseRow,
	ids map[string]int64) (UpsertResult, error) {
	var res UpsertResult
	if ids == nil {
		var err error
		ext := make([]string, len(in))
		for i := range in {
			ext[i] = in[i].CustomerExternalID
		}
		if ids, err = s.lockCustomers(ctx, tx, ext); err != nil {
			return res, err
		}
	}
	orders := make([]string, 0, len(in))
	for i := range in {
		rows[i].customerID = ids[in[i].CustomerExternalID]
		orders = append(orders, in[i].OrderID)
	}
	stored, err := s.loadPurchases(ctx, tx, orders)
	if err != nil {
		return res, err
	}
	current := make(map[string]purchaseRow, len(in))
	var keys []string
	for i, o := range orders {
		before, exists := current[o]
		if !exists {
			before, exists = stored[o]
			keys = append(keys, o)
		}
		switch {
		case !exists:
			res.Inserted++
		case before.equal(rows[i]):
			res.Unchanged++
		default:
			res.Updated++
		}
		current[o] = rows[i]
	}
	touched := map[int64]bool{}
	var writes []string
	for _, o := range keys {
		old, ok := stored[o]
		if ok && old.equal(current[o]) {
			continue
		}
		writes = append(writes, o)
		touched[current[o].customerID] = true
		if ok {
			touched[old.customerID] = true
		}
	}
	if err := s.writePurchases(ctx, tx, writes, current); err != nil {
		return res, err
	}
	return res, s.recomputeMetrics(ctx, tx, touched)
}

func (s *Store) loadPurchases(ctx context.Context, tx *sqlx.Tx, orders []string) (map[string]purchaseRow, error) {
	out := make(map[string]purchaseRow, len(orders))
	for _, ch := range chunks(len(orders), maxInList) {
		part := anySlice(orders[ch[0]:ch[1]])
		rows, err := tx.QueryContext(ctx, tx.Rebind(`SELECT order_id, customer_id, amount_cents, currency, quantity,
			items, occurred_at FROM purchases WHERE order_id IN `+placeholders(len(part))), part...)
		if err != nil {
			return nil, fmt.Errorf("read existing purchases: %w", err)
		}
		for rows.Next() {
			var (
				o     string
				r     purchaseRow
				items []byte
			)
			if err := rows.Scan(&o, &r.customerID, &r.amountCents, &r.currency, intInto{&r.quantity}, &items,
				timeInto{&r.occurredAt}); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read existing purchases: %w", err)
			}
			if r.items, err = canonicalJSON(items, "[]"); err != nil {
				rows.Close()
				return nil, fmt.Errorf("decode items of order %q: %w", o, err)
			}
			out[o] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read existing purchases: %w", err)
		}
	}
	return out, nil
}

const purchaseWriteCols = 7

func (s *Store) writePurchases(ctx context.Context, tx *sqlx.Tx, orders []string, rows map[string]purchaseRow) error {
	for _, ch := range chunks(len(orders), maxRowsPerInsert) {
		part := orders[ch[0]:ch[1]]
		args := make([]any, 0, len(part)*purchaseWriteCols)
		for _, o := range part {
			r := rows[o]
			args = append(args, o, r.customerID, r.amountCents, r.currency, r.quantity, r.items, r.occurredAt)
		}
		q := tx.Rebind(`INSERT INTO purchases (order_id, customer_id, amount_cents, currency, quantity, items, occurred_at)
		VALUES ` + valuesList(len(part), purchaseWriteCols) + `
		ON CONFLICT (order_id) DO UPDATE SET customer_id = excluded.customer_id, amount_cents = excluded.amount_cents,
			currency = excluded.currency, quantity = excluded.quantity, items = excluded.items,
			occurred_at = excluded.occurred_at`)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("write %d purchases: %w", len(part), err)
		}
	}
	return nil
}

// daysBetween is, per dialect, the SQL for the number of days (fractional)
// from m.first_at to m.last_at.
var daysBetween = map[Dialect]string{
	Postgres: `EXTRACT(EPOCH FROM (m.last_at - m.first_at)) / 86400.0`,
	SQLite:   `(julianday(m.last_at) - julianday(m.first_at))`,
}

// recomputeMetrics sets the purchase metrics of the given customers from the
// purchases table, in one set-based UPDATE per chunk of ids. It is idempotent:
// the result depends only on the purchases stored.
func (s *Store) recomputeMetrics(ctx context.Context, tx *sqlx.Tx, touched map[int64]bool) error {
	ids := make([]int64, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	now := time.Now().UTC()
	for _, ch := range chunks(len(ids), maxInList) {
		part := ids[ch[0]:ch[1]]
		args := append([]any{now}, anySlice(part)...)
		q := tx.Rebind(`UPDATE customers SET orders_count = m.n, total_spent_cents = m.total,
			first_purchase_at = m.first_at, last_purchase_at = m.last_at,
			avg_days_between = CASE WHEN m.n > 1 THEN ` + daysBetween[s.Dialect] + ` / (m.n - 1) ELSE 0 END,
			updated_at = ?
		FROM (SELECT c.id AS id, count(p.id) AS n, coalesce(sum(p.amount_cents), 0) AS total,
				min(p.occurred_at) AS first_at, max(p.occurred_at) AS last_at
			FROM customers c LEFT JOIN purchases p ON p.customer_id = c.id
			WHERE c.id IN ` + placeholders(len(part)) + `
			GROUP BY c.id) AS m
		WHERE customers.id = m.id`)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("recompute metrics of %d customers: %w", len(part), err)
		}
	}
	return nil
}
