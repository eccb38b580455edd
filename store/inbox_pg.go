package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// On PostgreSQL a group of webhook events costs two statements between BEGIN
// and COMMIT, whatever the group's size, instead of one per table and step:
//
//  1. acceptInboxSQL inserts the inbox rows and, for the ids that were new,
//     creates and locks their customers (in external id order) and appends
//     their rows to the events log, returning the new ids and the customers
//     (and turns sequential scans off, see acceptPurchasesSQL);
//  2. acceptPurchasesSQL writes the purchases and recomputes the metrics of
//     every customer whose purchases changed.
//
// Arrays (unnest) keep each statement's text the same for any group size, so
// pgx prepares it once per connection. The lock must be a statement of its
// own: a READ COMMITTED statement reads from the snapshot it started with, and
// only a statement that starts after the lock is granted sees the purchases a
// concurrent transaction of the same customer committed meanwhile.
const acceptInboxSQL = `WITH ev AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::timestamptz[], $9::text[])
		AS e(event_id, event_type, received_at, payload, result, customer, log_type, occurred_at, properties)
), ins AS (
	INSERT INTO webhook_inbox (event_id, event_type, received_at, payload, result)
	SELECT event_id, event_type, received_at, payload::jsonb, result::jsonb FROM ev ORDER BY event_id COLLATE "C"
	ON CONFLICT (event_id) DO NOTHING
	RETURNING event_id
), locked AS (
	INSERT INTO customers (external_id)
	SELECT DISTINCT ev.customer COLLATE "C" FROM ev JOIN ins USING (event_id) ORDER BY 1
	ON CONFLICT (external_id) DO UPDATE SET updated_at = customers.updated_at
	RETURNING id, external_id
), logged AS (
	INSERT INTO events (event_id, customer_id, type, occurred_at, received_at, properties)
	SELECT ev.event_id, locked.id, ev.log_type, ev.occurred_at, ev.received_at, ev.properties::jsonb
	FROM ev JOIN ins USING (event_id) JOIN locked ON locked.external_id = ev.customer
	WHERE ev.log_type <> ''
)
SELECT 'e', event_id, 0::bigint FROM ins
UNION ALL
SELECT 'c', external_id, id FROM locked
UNION ALL
SELECT 's', set_config('enable_seqscan', 'off', true), 0` // see acceptPurchasesSQL

// acceptPurchasesSQL upserts purchases (an identical stored row is left
// alone) and sets the metrics of the customers of the rows written, and of
// the previous customer of a row that moved, from their purchases: those in
// the table other than this statement's orders, plus this statement's. A
// statement does not see its own writes, hence the union.
//
// The statement is prepared once per connection, and PostgreSQL soon keeps
// one generic plan for it, which it makes once, maybe while a new database's
// tables are nearly empty and never analyzed: it would then scan customers in
// full for ever after (autovacuum may be off, so no ANALYZE comes to replan
// it). Every step has an index to use, and acceptInboxSQL turns
// enable_seqscan off for the rest of the transaction (SET LOCAL without a
// round trip of its own) so that the plans use them; "customers.id =
// ANY(ARRAY(...))" beside the join gives the update one.
const acceptPurchasesSQL = `WITH input AS (
	SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::int[], $6::text[], $7::timestamptz[])
		AS i(order_id, customer_id, amount_cents, currency, quantity, items, occurred_at)
), old AS (
	SELECT p.order_id, p.customer_id FROM purchases p WHERE p.order_id = ANY($1::text[])
), w AS (
	INSERT INTO purchases AS p (order_id, customer_id, amount_cents, currency, quantity, items, occurred_at)
	SELECT order_id, customer_id, amount_cents, currency, quantity, items::jsonb, occurred_at
	FROM input ORDER BY order_id COLLATE "C"
	ON CONFLICT (order_id) DO UPDATE SET customer_id = excluded.customer_id, amount_cents = excluded.amount_cents,
		currency = excluded.currency, quantity = excluded.quantity, items = excluded.items,
		occurred_at = excluded.occurred_at
	WHERE (p.customer_id, p.amount_cents, p.currency, p.quantity, p.items, p.occurred_at) IS DISTINCT FROM
		(excluded.customer_id, excluded.amount_cents, excluded.currency, excluded.quantity, excluded.items,
		excluded.occurred_at)
	RETURNING order_id, customer_id
), touched AS (
	SELECT customer_id AS id FROM w
	UNION
	SELECT old.customer_id FROM old JOIN w USING (order_id)
), m AS (
	SELECT t.id, count(x.amount_cents) AS n, coalesce(sum(x.amount_cents), 0) AS total,
		min(x.occurred_at) AS first_at, max(x.occurred_at) AS last_at
	FROM touched t LEFT JOIN LATERAL (
		SELECT p.amount_cents, p.occurred_at FROM purchases p
		WHERE p.customer_id = t.id AND p.order_id <> ALL($1::text[])
		UNION ALL
		SELECT i.amount_cents, i.occurred_at FROM input i WHERE i.customer_id = t.id
	) x ON true
	GROUP BY t.id
)
UPDATE customers SET orders_count = m.n, total_spent_cents = m.total,
	first_purchase_at = m.first_at, last_purchase_at = m.last_at,
	avg_days_between = CASE WHEN m.n > 1 THEN ` + `EXTRACT(EPOCH FROM (m.last_at - m.first_at)) / 86400.0` + ` / (m.n - 1) ELSE 0 END,
	updated_at = $8
FROM m WHERE customers.id = m.id AND customers.id = ANY(ARRAY(SELECT id FROM m))`

// acceptTxPostgres is acceptTx in two statements (acceptInboxSQL,
// acceptPurchasesSQL), plus the profile upsert when events carry profile
// fields and the read of earlier results when some ids were already stored.
func (s *Store) acceptTxPostgres(ctx context.Context, tx *sqlx.Tx, evs []InboxEvent) ([]Accepted, error) {
	first, order := firstOccurrences(evs)
	fresh, ids, err := s.insertInboxAndLock(ctx, tx, evs, order)
	if err != nil {
		return nil, err
	}
	dupIDs, custs, buys := splitEvents(evs, first, fresh)
	if len(custs) > 0 {
		if _, err := s.upsertCustomersTx(ctx, tx, custs, ConsentWebhook); err != nil {
			return nil, err
		}
	}
	if err := writePurchasesPostgres(ctx, tx, buys, ids); err != nil {
		return nil, err
	}
	stored, err := s.inboxResults(ctx, tx, dupIDs)
	if err != nil {
		return nil, err
	}
	return acceptedOf(evs, first, fresh, stored), nil
}

// insertInboxAndLock runs acceptInboxSQL for evs[order...]: it returns which
// event ids were new and the ids of their (now locked) customers.
func (s *Store) insertInboxAndLock(ctx context.Context, tx *sqlx.Tx, evs []InboxEvent, order []int) (map[string]bool,
	map[string]int64, error) {
	n := len(order)
	var (
		eventIDs, types, payloads, results, customers = make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n)
		logTypes, props    = make([]string, n), make([]string, n)
		received, occurred = make([]time.Time, n), make([]time.Time, n)
	)
	now := time.Now()
	for k, i := range order {
		e := &evs[i]
		eventIDs[k], types[k], customers[k] = e.EventID, e.EventType, customerOf(e)
		payloads[k], results[k] = jsonOr(e.Payload, "{}"), jsonOr(e.Result, "{}")
		received[k] = e.ReceivedAt
		if received[k].IsZero() {
			received[k] = now
		}
		received[k] = received[k].UTC()
		occurred[k], props[k] = received[k], "{}"
		if e.Event != nil {
			logTypes[k], occurred[k], props[k] = e.Event.Type, e.Event.OccurredAt.UTC(), jsonOr(e.Event.Properties, "{}")
		}
	}
	rows, err := tx.QueryContext(ctx, acceptInboxSQL, eventIDs, types, received, payloads, results, customers,
		logTypes, occurred, props)
	if err != nil {
		return nil, nil, fmt.Errorf("write inbox rows and lock customers: %w", err)
	}
	defer rows.Close()
	fresh := make(map[string]bool, n)
	ids := make(map[string]int64, n)
	for rows.Next() {
		var (
			kind, key string
			id        int64
		)
		if err := rows.Scan(&kind, &key, &id); err != nil {
			return nil, nil, fmt.Errorf("write inbox rows and lock customers: %w", err)
		}
		if kind == "e" {
			fresh[key] = true
		} else {
			ids[key] = id
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("write inbox rows and lock customers: %w", err)
	}
	return fresh, ids, nil
}

// writePurchasesPostgres runs acceptPurchasesSQL for buys, whose customers
// ids holds (created and locked by insertInboxAndLock). An order given twice
// keeps its last values, as upsertPurchasesTx does.
func writePurchasesPostgres(ctx context.Context, tx *sqlx.Tx, buys []PurchaseInput, ids map[string]int64) error {
	last := make(map[string]int, len(buys))
	for i := range buys {
		if err := checkPurchase(&buys[i], i); err != nil {
			return err
		}
		last[buys[i].OrderID] = i
	}
	n := len(last)
	if n == 0 {
		return nil
	}
	var (
		orders, currencies, items = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		customers, cents          = make([]int64, 0, n), make([]int64, 0, n)
		quantities                = make([]int32, 0, n)
		times                     = make([]time.Time, 0, n)
	)
	for i := range buys {
		p := &buys[i]
		if last[p.OrderID] != i {
			continue
		}
		id, ok := ids[p.CustomerExternalID]
		if !ok {
			return fmt.Errorf("order %q: customer %q was not locked", p.OrderID, p.CustomerExternalID)
		}
		cur := p.Currency
		if cur == "" {
			cur = "USD"
		}
		orders, customers, cents = append(orders, p.OrderID), append(customers, id), append(cents, p.AmountCents)
		currencies, quantities = append(currencies, cur), append(quantities, int32(p.Quantity))
		items = append(items, jsonOr(p.Items, "[]"))
		// PostgreSQL rounds to microseconds; truncate as the other paths do.
		times = append(times, p.OccurredAt.UTC().Truncate(time.Microsecond))
	}
	_, err := tx.ExecContext(ctx, acceptPurchasesSQL,
		orders, customers, cents, currencies, quantities, items, times, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("write %d purchases and their customers' metrics: %w", n, err)
	}
	return nil
}

// checkPurchase validates what purchaseRows does, without re-encoding the
// items (PostgreSQL's jsonb compares them by meaning).
func checkPurchase(p *PurchaseInput, i int) error {
	switch {
	case p.OrderID == "" || p.CustomerExternalID == "":
		return fmt.Errorf("input %d needs an order id and a customer id", i)
	case p.OccurredAt.IsZero():
		return fmt.Errorf("order %q has no time", p.OrderID)
	case len(p.Items) > 0 && !json.Valid(p.Items):
		return fmt.Errorf("order %q: items are not valid JSON", p.OrderID)
	case p.Quantity < 0 || p.Quantity > 1<<31-1:
		return fmt.Errorf("order %q: quantity %d is out of range", p.OrderID, p.Quantity)
	}
	return nil
}

// jsonOr returns raw as a string, or empty when raw is empty or null.
func jsonOr(raw []byte, empty string) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return empty
	}
	return string(raw)
}
