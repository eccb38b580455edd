package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
)

// InboxStatus is a webhook inbox row's state, as webhook_inbox.status holds
// it: received when committed, then processed or failed by its reaction task.
type InboxStatus string

// Inbox statuses.
const (
	InboxReceived  InboxStatus = "received"
	InboxProcessed InboxStatus = "processed"
	InboxFailed    InboxStatus = "failed"
)

// InboxEvent is one webhook event to take in: its inbox row and what it
// records (its row in the events log, the customer, a purchase), all
// written in one transaction.
type InboxEvent struct {
	EventID    string // the sender's unique id (webhook-id / event_id)
	EventType  string // "purchase", "cart_updated", ...
	ReceivedAt time.Time
	Payload    []byte // the event as a JSON object, kept for the reaction
	Result     []byte // the JSON answer, given again to any later duplicate
	// ExternalID is the customer the event is about, created when unknown;
	// empty means Purchase.CustomerExternalID.
	ExternalID string
	// Customer holds profile fields to upsert; nil when the event only names
	// the customer.
	Customer *CustomerInput
	// Event is the event's row in the events log; nil writes none.
	Event *EventInput
	// Purchase is the order a purchase event records; an empty OrderID
	// records none (events of other types).
	Purchase PurchaseInput
}

// Accepted is what AcceptEvents did with one event.
type Accepted struct {
	EventID   string
	Duplicate bool            // the event id was already in the inbox: nothing was written
	Result    json.RawMessage // the result recorded the first time the id was seen
	// Changed: a duplicate whose payload differs from the one stored
	// under its id (a sender reusing an id for another event).
	Changed bool
}

// InboxRow is one row of the webhook inbox.
type InboxRow struct {
	EventID     string
	EventType   string
	ReceivedAt  time.Time
	Payload     json.RawMessage
	Status      InboxStatus
	Result      json.RawMessage
	Error       string
	ProcessedAt time.Time // zero until processed or failed
}

// AcceptEvents records events in ONE transaction: each new event id gets its
// inbox row, its customer upsert and its purchase upsert with the customer's
// metrics recomputed; an id already in the inbox (or repeated in evs) writes
// nothing and returns the first result. Out[i] is evs[i].
//
// Customers are locked (a no-op upsert on PostgreSQL, in external id order)
// before their purchases are written, so the set-based metrics
// recompute of concurrent transactions for the same customer sees every
// committed purchase. A deadlock or serialization failure retries the
// transaction.
func (s *Store) AcceptEvents(ctx context.Context, evs []InboxEvent) ([]Accepted, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	for i := range evs {
		if evs[i].EventID == "" {
			return nil, fmt.Errorf("store: accept events: input %d has no event id", i)
		}
		if customerOf(&evs[i]) == "" {
			return nil, fmt.Errorf("store: accept events: event %q names no customer", evs[i].EventID)
		}
	}
	if _, err := s.keyedHash(ctx); err != nil { // before the transaction: loading it may write
		return nil, err
	}
	var out []Accepted
	var err error
	for attempt := 0; ; attempt++ {
		err = s.inTx(ctx, func(tx *sqlx.Tx) error {
			out, err = s.acceptTx(ctx, tx, evs)
			return err
		})
		if err == nil || attempt >= 4 || !retryable(err) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("store: accept events: %w", err)
	}
	return out, nil
}

// retryable reports a PostgreSQL deadlock or serialization failure: the
// transaction was rolled back and may simply be run again.
func retryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// firstOccurrences maps each event id to the index of its first occurrence
// in evs, and lists those indexes in event id order: inbox rows are written
// in that order, a consistent lock order across concurrent transactions.
func firstOccurrences(evs []InboxEvent) (map[string]int, []int) {
	first := make(map[string]int, len(evs))
	order := make([]int, 0, len(evs))
	for i := range evs {
		if _, seen := first[evs[i].EventID]; !seen {
			first[evs[i].EventID] = i
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(evs[a].EventID, evs[b].EventID) })
	return first, order
}

// acceptedOf is AcceptEvents' answer: out[i] is evs[i], fresh holds the ids
// written now and stored the results and payloads of the ids written before.
func acceptedOf(evs []InboxEvent, first map[string]int, fresh map[string]bool,
	stored map[string]storedInbox) []Accepted {
	out := make([]Accepted, len(evs))
	for i := range evs {
		id := evs[i].EventID
		out[i] = Accepted{EventID: id, Result: json.RawMessage(evs[first[id]].Result)}
		earlier := evs[first[id]].Payload
		if !fresh[id] {
			out[i].Result, earlier = stored[id].result, stored[id].payload
		}
		out[i].Duplicate = !fresh[id] || first[id] != i
		out[i].Changed = out[i].Duplicate && !sameJSON(earlier, []byte(jsonOr(evs[i].Payload, "{}")))
	}
	return out
}

func (s *Store) acceptTx(ctx context.Context, tx *sqlx.Tx, evs []InboxEvent) ([]Accepted, error) {
	if s.Dialect == Postgres {
		return s.acceptTxPostgres(ctx, tx, evs)
	}
	first, order := firstOccurrences(evs)
	fresh, err := s.insertInbox(ctx, tx, evs, order)
	if err != nil {
		return nil, err
	}
	dupIDs, custs, buys := splitEvents(evs, first, fresh)
	var ext []string
	for id := range fresh {
		ext = append(ext, customerOf(&evs[first[id]]))
	}
	ids, err := s.lockCustomers(ctx, tx, ext)
	if err != nil {
		return nil, err
	}
	logRows, err := eventRows(evs, first, fresh, ids)
	if err != nil {
		return nil, err
	}
	if err := insertEventRows(ctx, tx, logRows); err != nil {
		return nil, err
	}
	if len(custs) > 0 {
		if _, err := s.upsertCustomersTx(ctx, tx, custs, ConsentWebhook); err != nil {
			return nil, err
		}
	}
	if len(buys) > 0 {
		rows, err := purchaseRows(buys)
		if err != nil {
			return nil, err
		}
		if _, err := s.upsertPurchasesTx(ctx, tx, buys, rows, ids); err != nil {
			return nil, err
		}
	}
	stored, err := s.inboxResults(ctx, tx, dupIDs)
	if err != nil {
		return nil, err
	}
	return acceptedOf(evs, first, fresh, stored), nil
}

// insertInbox inserts the inbox rows of evs[order...] and returns which ids
// were new. On PostgreSQL an id being inserted by a concurrent transaction
// waits for it: committed, it is a duplicate here; rolled back, it is ours.
func (s *Store) insertInbox(ctx context.Context, tx *sqlx.Tx, evs []InboxEvent, order []int) (map[string]bool, error) {
	fresh := make(map[string]bool, len(order))
	for _, ch := range chunks(len(order), maxRowsPerInsert) {
		part := order[ch[0]:ch[1]]
		args := make([]any, 0, len(part)*5)
		for _, i := range part {
			e := &evs[i]
			payload, result := string(e.Payload), string(e.Result)
			if payload == "" {
				payload = "{}"
			}
			if result == "" {
				result = "{}"
			}
			at := e.ReceivedAt
			if at.IsZero() {
				at = time.Now()
			}
			args = append(args, e.EventID, e.EventType, at.UTC(), payload, result)
		}
		q := tx.Rebind(`INSERT INTO webhook_inbox (event_id, event_type, received_at, payload, result) VALUES ` +
			valuesList(len(part), 5) + ` ON CONFLICT (event_id) DO NOTHING RETURNING event_id`)
		var ids []string
		if err := tx.SelectContext(ctx, &ids, q, args...); err != nil {
			return nil, fmt.Errorf("write inbox rows: %w", err)
		}
		for _, id := range ids {
			fresh[id] = true
		}
	}
	return fresh, nil
}

// lockCustomers creates the customers named that do not exist yet, locks
// their rows until the transaction ends and returns their ids, with one
// statement per chunk: the no-op ON CONFLICT DO UPDATE takes an existing
// row's lock (on PostgreSQL; SQLite serialises writers already) and
// RETURNING gives the id of new and existing customers alike. Rows are
// locked in external id order, the same in every transaction.
func (s *Store) lockCustomers(ctx context.Context, tx *sqlx.Tx, ext []string) (map[string]int64, error) {
	ext = slices.Clone(ext)
	slices.Sort(ext)
	ext = slices.Compact(ext)
	ids := make(map[string]int64, len(ext))
	for _, ch := range chunks(len(ext), maxInList) {
		part := anySlice(ext[ch[0]:ch[1]])
		// updated_at, not external_id: an update of no key column takes the
		// weaker row lock, which leaves other transactions free to insert
		// rows that reference the customer.
		rows, err := tx.QueryContext(ctx, tx.Rebind(`INSERT INTO customers (external_id) VALUES `+
			valuesList(len(part), 1)+` ON CONFLICT (external_id) DO UPDATE SET updated_at = customers.updated_at
			RETURNING id, external_id`), part...)
		if err != nil {
			return nil, fmt.Errorf("lock customers: %w", err)
		}
		for rows.Next() {
			var id int64
			var e string
			if err := rows.Scan(&id, &e); err != nil {
				rows.Close()
				return nil, fmt.Errorf("lock customers: %w", err)
			}
			ids[e] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("lock customers: %w", err)
		}
	}
	return ids, nil
}

// storedInbox is what a duplicate is answered with and compared to.
type storedInbox struct {
	result, payload json.RawMessage
}

func (s *Store) inboxResults(ctx context.Context, tx *sqlx.Tx, ids []string) (map[string]storedInbox, error) {
	out := make(map[string]storedInbox, len(ids))
	for _, ch := range chunks(len(ids), maxInList) {
		part := anySlice(ids[ch[0]:ch[1]])
		rows, err := tx.QueryContext(ctx, tx.Rebind(`SELECT event_id, result, payload FROM webhook_inbox WHERE event_id IN `+
			placeholders(len(part))), part...)
		if err != nil {
			return nil, fmt.Errorf("read earlier results: %w", err)
		}
		for rows.Next() {
			var id string
			var res, payload []byte
			if err := rows.Scan(&id, &res, &payload); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read earlier results: %w", err)
			}
			out[id] = storedInbox{result: json.RawMessage(res), payload: json.RawMessage(payload)}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read earlier results: %w", err)
		}
	}
	return out, nil
}

// InboxEvent returns one inbox row, or ErrNotFound.
func (s *Store) InboxEvent(ctx context.Context, eventID string) (*InboxRow, error) {
	var (
		r                InboxRow
		payload, result  []byte
		received, procAt time.Time
	)
	err := s.DB.QueryRowContext(ctx, s.DB.Rebind(`SELECT event_id, event_type, received_at, payload, status, result,
		error, processed_at FROM webhook_inbox WHERE event_id = ?`), eventID).Scan(&r.EventID, &r.EventType,
		timeInto{&received}, &payload, &r.Status, &result, &r.Error, timeInto{&procAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: inbox event: %w", err)
	}
	r.ReceivedAt, r.ProcessedAt = received, procAt
	r.Payload, r.Result = json.RawMessage(payload), json.RawMessage(result)
	return &r, nil
}

// FinishEvent records the outcome of an event's reaction: InboxProcessed, or
// InboxFailed with the error (retried by "tidings events replay").
func (s *Store) FinishEvent(ctx context.Context, eventID string, status InboxStatus, errText string, now time.Time) error {
	if status != InboxProcessed && status != InboxFailed {
		return fmt.Errorf("store: finish event %q: status %q is not processed or failed", eventID, status)
	}
	_, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE webhook_inbox SET status = ?, error = ?, processed_at = ?
		WHERE event_id = ?`), status, truncate(errText, 500), now.UTC(), eventID)
	if err != nil {
		return fmt.Errorf("store: finish event: %w", err)
	}
	return nil
}

// EventsToReplay lists up to limit inbox events whose reaction failed, or
// never ran (still received since before stuckBefore: the task was lost),
// oldest first.
func (s *Store) EventsToReplay(ctx context.Context, stuckBefore time.Time, limit int) ([]string, error) {
	var ids []string
	err := s.DB.SelectContext(ctx, &ids, s.DB.Rebind(`SELECT event_id FROM webhook_inbox
		WHERE status = 'failed' OR (status = 'received' AND received_at < ?)
		ORDER BY received_at, event_id LIMIT ?`), stuckBefore.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: events to replay: %w", err)
	}
	return ids, nil
}

// IsFirstOrder reports whether orderID is the customer's first purchase: no
// other order of theirs occurred earlier (ties broken by order id), whatever
// order the events arrived in.
func (s *Store) IsFirstOrder(ctx context.Context, customerID int64, orderID string) (bool, error) {
	var n int
	err := s.DB.GetContext(ctx, &n, s.DB.Rebind(`SELECT count(*) FROM purchases p JOIN purchases me
		ON me.order_id = ? AND p.customer_id = me.customer_id
		WHERE p.customer_id = ? AND p.order_id <> me.order_id
		AND (p.occurred_at < me.occurred_at OR (p.occurred_at = me.occurred_at AND p.order_id < me.order_id))`),
		orderID, customerID)
	if err != nil {
		return false, fmt.Errorf("store: first order: %w", err)
	}
	return n == 0, nil
}

// splitEvents sorts the first occurrence of each event id in evs: ids
// already stored (not fresh) go to dupIDs; fresh ones give their purchase
// when they record one, and their customer profile when they carry one, in
// input order, so later events of a customer win.
func splitEvents(evs []InboxEvent, first map[string]int, fresh map[string]bool) (dupIDs []string, custs []CustomerInput, buys []PurchaseInput) {
	for i := range evs {
		if first[evs[i].EventID] != i {
			continue
		}
		if !fresh[evs[i].EventID] {
			dupIDs = append(dupIDs, evs[i].EventID)
			continue
		}
		if c := evs[i].Customer; c != nil {
			cc := *c
			cc.ExternalID = customerOf(&evs[i])
			custs = append(custs, cc)
		}
		if evs[i].Purchase.OrderID != "" {
			buys = append(buys, evs[i].Purchase)
		}
	}
	return dupIDs, custs, buys
}

// PurgeInboxPayloads empties the payload of webhook events received before
// before (the retention of TIDINGS_INBOX_RETENTION), up to limit rows, and
// returns how many it emptied. The row stays with its event id, so a late
// redelivery is still recognised as a duplicate, and with its result. An
// event whose reaction never finished is settled: there is nothing left to
// replay.
func (s *Store) PurgeInboxPayloads(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE webhook_inbox SET payload = '{}',
		status = 'processed', processed_at = COALESCE(processed_at, ?),
		error = CASE status WHEN 'processed' THEN error ELSE 'payload purged after the retention period' END
		WHERE event_id IN (SELECT event_id FROM webhook_inbox WHERE payload <> '{}' AND received_at < ?
			ORDER BY received_at LIMIT ?)`), time.Now().UTC(), before.UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("store: purge inbox payloads: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge inbox payloads: %w", err)
	}
	return n, nil
}
