package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/jmoiron/sqlx"
)

// The events log (migration 0011) holds whatever a shop tells us about a
// customer: cart_updated, product_viewed, signup, purchase... An event is
// written once, in the transaction that writes its webhook_inbox row (which
// holds its idempotency), and never updated; retention deletes old ones
// (MaintainEvents).

// EventInput is one event to append to the log.
type EventInput struct {
	Type       string    // a slug: cart_updated, purchase, ...
	OccurredAt time.Time // when it happened, as the shop says
	Properties []byte    // a JSON object; empty means {}
}

// StoredEvent is one row of the events log.
type StoredEvent struct {
	EventID    string
	CustomerID int64
	Type       string
	OccurredAt time.Time
	ReceivedAt time.Time
	Properties json.RawMessage
}

// customerOf is the external id of the customer an inbox event is about.
func customerOf(e *InboxEvent) string {
	if e.ExternalID != "" {
		return e.ExternalID
	}
	return e.Purchase.CustomerExternalID
}

// eventRow is an event of the log ready to insert: its customer is known.
type eventRow struct {
	eventID    string
	customerID int64
	receivedAt time.Time
	in         *EventInput
}

// eventRows lists the log rows of the fresh events of evs (first
// occurrences of ids just written to the inbox), with their customers' ids.
func eventRows(evs []InboxEvent, first map[string]int, fresh map[string]bool, ids map[string]int64) ([]eventRow, error) {
	var out []eventRow
	for i := range evs {
		e := &evs[i]
		if e.Event == nil || first[e.EventID] != i || !fresh[e.EventID] {
			continue
		}
		id, ok := ids[customerOf(e)]
		if !ok {
			return nil, fmt.Errorf("event %q: customer %q was not locked", e.EventID, customerOf(e))
		}
		out = append(out, eventRow{eventID: e.EventID, customerID: id, receivedAt: receivedOr(e.ReceivedAt), in: e.Event})
	}
	return out, nil
}

func receivedOr(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC()
}

// insertEventRows appends rows to the log (the SQLite path; PostgreSQL
// writes them within acceptInboxSQL).
func insertEventRows(ctx context.Context, tx *sqlx.Tx, rows []eventRow) error {
	for _, ch := range chunks(len(rows), maxRowsPerInsert) {
		part := rows[ch[0]:ch[1]]
		args := make([]any, 0, len(part)*6)
		for _, r := range part {
			args = append(args, r.eventID, r.customerID, r.in.Type, r.in.OccurredAt.UTC(), r.receivedAt,
				jsonOr(r.in.Properties, "{}"))
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO events (event_id, customer_id, type, occurred_at,
			received_at, properties) VALUES `+valuesList(len(part), 6)), args...)
		if err != nil {
			return fmt.Errorf("append %d events: %w", len(part), err)
		}
	}
	return nil
}

// sameJSON reports whether two JSON documents mean the same thing: key
// order, spacing and number spelling aside (PostgreSQL's jsonb rewrites
// all three).
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// CustomerEvents lists a customer's events of type typ ("" for every type)
// oldest first, at most limit.
func (s *Store) CustomerEvents(ctx context.Context, customerID int64, typ string, limit int) ([]StoredEvent, error) {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT event_id, customer_id, type, occurred_at, received_at,
		properties FROM events WHERE customer_id = ? AND (? = '' OR type = ?)
		ORDER BY occurred_at, event_id LIMIT ?`), customerID, typ, typ, limit)
	if err != nil {
		return nil, fmt.Errorf("store: customer events: %w", err)
	}
	return scanEvents(rows)
}

// scanEvents reads rows of event_id, customer_id, type, occurred_at,
// received_at, properties, and closes them.
func scanEvents(rows *sql.Rows) ([]StoredEvent, error) {
	defer rows.Close()
	var out []StoredEvent
	for rows.Next() {
		var (
			e     StoredEvent
			props []byte
		)
		if err := rows.Scan(&e.EventID, &e.CustomerID, &e.Type, timeInto{&e.OccurredAt}, timeInto{&e.ReceivedAt},
			&props); err != nil {
			return nil, fmt.Errorf("store: read events: %w", err)
		}
		e.Properties = json.RawMessage(props)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read events: %w", err)
	}
	return out, nil
}

// WaitingEventRow is a waiting ledger row of an event-triggered campaign:
// its id and the event that triggered it.
type WaitingEventRow struct {
	ID      int64
	EventID string
}

// WaitingEventRows lists the customer's rows of campaignID still waiting
// (pending or deferred) that an event triggered.
func (s *Store) WaitingEventRows(ctx context.Context, customerID int64, campaignID string) ([]WaitingEventRow, error) {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT id, event_id FROM deliveries WHERE customer_id = ?
		AND campaign_id = ? AND status IN ('pending', 'deferred') AND event_id IS NOT NULL ORDER BY id`),
		customerID, campaignID)
	if err != nil {
		return nil, fmt.Errorf("store: waiting event rows: %w", err)
	}
	defer rows.Close()
	var out []WaitingEventRow
	for rows.Next() {
		var r WaitingEventRow
		if err := rows.Scan(&r.ID, &r.EventID); err != nil {
			return nil, fmt.Errorf("store: waiting event rows: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// EventsBetween lists the customer's events of type typ that happened in
// [from, to], oldest first.
func (s *Store) EventsBetween(ctx context.Context, customerID int64, typ string, from, to time.Time) ([]StoredEvent, error) {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT event_id, customer_id, type, occurred_at, received_at,
		properties FROM events WHERE customer_id = ? AND type = ? AND occurred_at >= ? AND occurred_at <= ?
		ORDER BY occurred_at, event_id`), customerID, typ, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: events between: %w", err)
	}
	return scanEvents(rows)
}

// EventsReceivedSince lists the customer's events of type typ received
// after since, oldest first: the exit events a message planned at since has
// not been checked against yet.
func (s *Store) EventsReceivedSince(ctx context.Context, customerID int64, typ string, since time.Time) ([]StoredEvent, error) {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT event_id, customer_id, type, occurred_at, received_at,
		properties FROM events WHERE customer_id = ? AND type = ? AND received_at > ?
		ORDER BY occurred_at, event_id`), customerID, typ, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: events received since: %w", err)
	}
	return scanEvents(rows)
}

// EventTime is when the customer's event eventID happened, from the events
// log (which outlives the inbox's payloads), or ErrNotFound.
func (s *Store) EventTime(ctx context.Context, customerID int64, eventID string) (time.Time, error) {
	var at time.Time
	err := s.DB.QueryRowContext(ctx, s.DB.Rebind(`SELECT occurred_at FROM events WHERE customer_id = ? AND event_id = ?`),
		customerID, eventID).Scan(timeInto{&at})
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, ErrNotFound
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: event time: %w", err)
	}
	return at, nil
}
