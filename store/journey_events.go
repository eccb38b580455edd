package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// JourneyEvent is an event of one customer that a journey may wait for
// (wait_for) or exit on (exit_on): its type, when it happened, and its
// properties (what a `where` filter reads as event.*).
type JourneyEvent struct {
	Type       string
	At         time.Time
	Properties map[string]any
}

// StoredJourneyEvent is a JourneyEvent kept for one journey state until the
// sweep reads it.
type StoredJourneyEvent struct {
	ID      int64
	StateID int64
	JourneyEvent
}

// WakeJourneys records ev for each open journey state of the customer that
// waits for its type (wait_for) or exits on it (exit_on), makes those states
// due at the event's time (at once, unless due earlier), and returns how
// many it woke. The sweep then checks the filters and takes the outcome:
// the event wakes a waiting customer without a task of its own, and the
// wake's latency is the sweep interval's. It is the one entry point for
// every event source (the purchase reaction, the events API).
func (s *Store) WakeJourneys(ctx context.Context, customerID int64, ev JourneyEvent) (int, error) {
	props, err := json.Marshal(ev.Properties)
	if err != nil || ev.Properties == nil {
		props = []byte("{}")
	}
	var n int
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		n, err = wakeJourneysTx(ctx, tx, customerID, ev.Type, ev.At, props)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: wake journeys of customer %d on %s: %w", customerID, ev.Type, err)
	}
	return n, nil
}

// wakeJourneysTx is WakeJourneys within the caller's transaction, so an
// event recorded elsewhere (a bounce) wakes journeys in the same commit.
func wakeJourneysTx(ctx context.Context, tx *sqlx.Tx, customerID int64, typ string, at time.Time, props []byte) (int, error) {
	at = at.UTC()
	var ids []int64
	err := tx.SelectContext(ctx, &ids, tx.Rebind(`UPDATE journey_states
		SET due_at = CASE WHEN due_at IS NULL OR due_at > ? THEN ? ELSE due_at END
		WHERE customer_id = ? AND status IN ('active', 'waiting') AND (wait_event = ? OR exit_events LIKE ?)
		RETURNING id`), at, at, customerID, typ, "% "+typ+" %")
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO journey_events (state_id, type, occurred_at, properties)
			VALUES (?, ?, ?, ?)`), id, typ, at, string(props)); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// JourneyEventsFor returns the events kept for the given states, by state,
// each state's in the order they happened.
func (s *Store) JourneyEventsFor(ctx context.Context, stateIDs []int64) (map[int64][]StoredJourneyEvent, error) {
	out := map[int64][]StoredJourneyEvent{}
	if len(stateIDs) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT id, state_id, type, occurred_at, properties FROM journey_events
		WHERE state_id IN (?) ORDER BY state_id, occurred_at, id`, stateIDs)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: journey events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev StoredJourneyEvent
		var props string
		if err := rows.Scan(&ev.ID, &ev.StateID, &ev.Type, &ev.At, &props); err != nil {
			return nil, fmt.Errorf("store: journey events: %w", err)
		}
		if err := json.Unmarshal([]byte(props), &ev.Properties); err != nil {
			return nil, fmt.Errorf("store: journey event %d properties: %w", ev.ID, err)
		}
		ev.At = ev.At.UTC()
		out[ev.StateID] = append(out[ev.StateID], ev)
	}
	return out, rows.Err()
}
