package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
)

// A refresh that moves a customer to another lifecycle stage or loyalty
// tier records it
// twice, in the transaction that writes the new stage: a customer_events row
// (Tidings' own log of computed changes, read by reports) and an event of
// the events log with its webhook_inbox row, exactly as if the shop had
// posted it to /v1/events, so `trigger: {event: {type: lifecycle_changed}}`,
// exit_on and a journey's wait_for hear it once its reaction runs.

// LifecycleChangedEvent is the event type of a lifecycle stage change; its
// properties (event.properties.* in rules) are {"from": "growing", "to":
// "declining"}.
const LifecycleChangedEvent = "lifecycle_changed"

// TierChangedEvent is the event type of a loyalty tier change; its
// properties are {"from": "silver", "to": "gold", "direction": "up"}. A
// customer's first tier (a first purchase, or the first refresh with a
// tiers file) and the end of the tiers (no tiers file any more) are not
// changes.
const TierChangedEvent = "tier_changed"

// Change is a customer moving from one value to another of a score a
// refresh keeps (Type says which), as SaveInsights recorded it.
type Change struct {
	CustomerID int64
	Type       string // LifecycleChangedEvent or TierChangedEvent
	From, To   string
	Direction  string // a tier change: "up" or "down"
	// EventID is the change's event id in the inbox and the events log
	// (ChangeEventID): enqueue its reaction to run the campaigns it triggers.
	EventID string
	// External is the customer's external id (the events log's customer).
	External string
}

// ChangeEventID is the event id of a change recorded by the refresh of at:
// "lifecycle_changed:42:2026-01-15T03:00:00Z". The same refresh run twice
// records the change once.
func ChangeEventID(typ string, customerID int64, at time.Time) string {
	return typ + ":" + strconv.FormatInt(customerID, 10) + ":" + at.UTC().Format(time.RFC3339)
}

// storedScore is what a refresh compares its new row with.
type storedScore struct {
	external  string
	lifecycle string
	tier      string
}

// appendChanges appends to out the changes from old to r; tierRank ranks
// the tiers for a tier change's direction.
func appendChanges(out []Change, old storedScore, r InsightRow, tierRank map[string]int) []Change {
	if old.lifecycle != "" && old.lifecycle != r.Lifecycle {
		out = append(out, Change{CustomerID: r.CustomerID, Type: LifecycleChangedEvent, From: old.lifecycle,
			To: r.Lifecycle, External: old.external})
	}
	if old.tier != "" && r.Tier != "" && old.tier != r.Tier {
		dir := "down"
		if from, ok := tierRank[old.tier]; !ok || tierRank[r.Tier] > from {
			dir = "up"
		}
		out = append(out, Change{CustomerID: r.CustomerID, Type: TierChangedEvent, From: old.tier, To: r.Tier,
			Direction: dir, External: old.external})
	}
	return out
}

// changePayload is a change as an event of the log: the shape of an event
// posted to /v1/events (triggers.AnyEvent), which the reaction reads.
type changePayload struct {
	ID         string      `json:"id"`
	Type       string      `json:"type"`
	Customer   string      `json:"customer"`
	Time       time.Time   `json:"time"`
	Properties changeProps `json:"properties"`
}

// changeProps are a change's event properties; the fields are in the order
// of their keys, so the JSON is the same as a sorted map's.
type changeProps struct {
	Direction string `json:"direction,omitempty"`
	From      string `json:"from"`
	To        string `json:"to"`
}

// recordChanges writes changes (setting their EventID) as customer_events
// rows, inbox rows and events of the log, all occurring at at. An event id
// already in the inbox (the same refresh run again) writes no event.
func recordChanges(ctx context.Context, tx *sqlx.Tx, changes []Change, at time.Time) error {
	if len(changes) == 0 {
		return nil
	}
	received := time.Now().UTC()
	logArgs := make([]any, 0, len(changes)*4)
	inboxArgs := make([]any, 0, len(changes)*4)
	byID := make(map[string]int, len(changes))
	for i := range changes {
		c := &changes[i]
		c.EventID = ChangeEventID(c.Type, c.CustomerID, at)
		props := changeProps{Direction: c.Direction, From: c.From, To: c.To}
		data, err := json.Marshal(props)
		if err != nil {
			return err
		}
		payload, err := json.Marshal(changePayload{ID: c.EventID, Type: c.Type, Customer: c.External, Time: at,
			Properties: props})
		if err != nil {
			return err
		}
		logArgs = append(logArgs, c.CustomerID, c.Type, string(data), at)
		inboxArgs = append(inboxArgs, c.EventID, c.Type, received, string(payload))
		byID[c.EventID] = i
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO customer_events (customer_id, type, data, occurred_at) VALUES `+
		valuesList(len(changes), 4)), logArgs...); err != nil {
		return fmt.Errorf("record %d score changes: %w", len(changes), err)
	}
	var fresh []string
	if err := tx.SelectContext(ctx, &fresh, tx.Rebind(`INSERT INTO webhook_inbox (event_id, event_type, received_at, payload)
		VALUES `+valuesList(len(changes), 4)+` ON CONFLICT (event_id) DO NOTHING RETURNING event_id`), inboxArgs...); err != nil {
		return fmt.Errorf("write the inbox rows of %d score changes: %w", len(changes), err)
	}
	if len(fresh) == 0 {
		return nil
	}
	evArgs := make([]any, 0, len(fresh)*6)
	for _, id := range fresh {
		c := changes[byID[id]]
		evArgs = append(evArgs, c.EventID, c.CustomerID, c.Type, at, received, logArgs[byID[id]*4+2])
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO events (event_id, customer_id, type, occurred_at,
		received_at, properties) VALUES `+valuesList(len(fresh), 6)), evArgs...); err != nil {
		return fmt.Errorf("append %d score changes to the events log: %w", len(fresh), err)
	}
	return nil
}
