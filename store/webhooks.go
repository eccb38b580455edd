package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Outgoing webhooks (docs/api.md, "Outgoing webhooks"): a fact worth telling
// (a message sent, a consent withdrawn, a journey left) becomes one
// webhook_outbox row per subscriber of its type, written in the fact's own
// transaction where the store writes the fact, or right after it with the
// same key (a second write of one fact is a no-op). The worker's sweeper
// posts the rows; nothing of a pending row is in Redis.

// The event types outgoing webhooks report.
const (
	HookMessageSent          = "message.sent"
	HookMessageFailed        = "message.failed"
	HookMessageBounced       = "message.bounced"
	HookCustomerUnsubscribed = "customer.unsubscribed"
	HookConversion           = "conversion"
	HookJourneyExited        = "journey.exited"
)

// HookTypes lists every event type, for validating a subscriber's list.
var HookTypes = []string{HookMessageSent, HookMessageFailed, HookMessageBounced, HookCustomerUnsubscribed,
	HookConversion, HookJourneyExited}

// HookStatus is a webhook_outbox row's place in its life.
type HookStatus string

// Outbox row statuses.
const (
	HookPending   HookStatus = "pending"   // to post (now, or at next_attempt_at after a failure)
	HookDelivered HookStatus = "delivered" // the subscriber answered 2xx
	HookDead      HookStatus = "dead"      // the retry budget ran out: the dead-letter list
)

// HookEvent is one fact to report. Key names the fact, unique per type:
// writing the same (type, key) again adds nothing, so a retried caller
// cannot report a fact twice.
type HookEvent struct {
	Type       string
	Key        string
	CustomerID int64     // whose fact it is: a customer's rows are posted in order (0: none)
	At         time.Time // when it happened
	Data       any       // the payload's "data" object, JSON-encoded
}

// hookPayload is the body posted, in the Standard Webhooks payload shape.
type hookPayload struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// HookRoutes says which subscribers take each event type.
type HookRoutes map[string][]string

// SetHookRoutes declares the subscribers (by name) of each event type. Until
// it is called, or for a type without subscribers, facts are not written
// to the outbox at all: a Tidings without webhooks pays nothing.
func (s *Store) SetHookRoutes(r HookRoutes) {
	cp := HookRoutes{}
	for typ, subs := range r {
		cp[typ] = append([]string(nil), subs...)
	}
	s.hooks.Store(&cp)
}

// hookSubscribers returns the subscribers of typ (none when unset).
func (s *Store) hookSubscribers(typ string) []string {
	r := s.hooks.Load()
	if r == nil {
		return nil
	}
	return (*r)[typ]
}

// Hooked reports whether any subscriber takes typ, so a caller can skip
// building a payload nobody will receive.
func (s *Store) Hooked(typ string) bool { return len(s.hookSubscribers(typ)) > 0 }

// EmitHook writes ev to the outbox for each of its type's subscribers, in a
// transaction of its own: the call for a fact already committed (a
// message's outcome, a bounce reported by a provider). Repeating it for the
// same (type, key) writes nothing more. This is the hook other parts of
// Tidings call to report a fact the store does not write itself.
func (s *Store) EmitHook(ctx context.Context, ev HookEvent) error {
	if !s.Hooked(ev.Type) {
		return nil
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return s.emitHookTx(ctx, tx, ev) })
}

// emitHookTx writes ev within tx, for a fact written in the same transaction.
func (s *Store) emitHookTx(ctx context.Context, tx *sqlx.Tx, ev HookEvent) error {
	subs := s.hookSubscribers(ev.Type)
	if len(subs) == 0 {
		return nil
	}
	body, err := json.Marshal(hookPayload{Type: ev.Type, Timestamp: ev.At.UTC().Format(time.RFC3339Nano), Data: ev.Data})
	if err != nil {
		return fmt.Errorf("store: encode %s webhook: %w", ev.Type, err)
	}
	now := time.Now().UTC()
	for _, sub := range subs {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO webhook_outbox (subscriber, event_type, event_key,
			customer_id, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (subscriber, event_key) DO NOTHING`),
			sub, ev.Type, ev.Type+":"+ev.Key, ev.CustomerID, string(body), now, now); err != nil {
			return fmt.Errorf("store: write %s webhook for %s: %w", ev.Type, sub, err)
		}
	}
	return nil
}

// HookRow is one webhook_outbox row.
type HookRow struct {
	ID            int64      `db:"id" json:"id"`
	Subscriber    string     `db:"subscriber" json:"subscriber"`
	Type          string     `db:"event_type" json:"type"`
	Key           string     `db:"event_key" json:"key"`
	CustomerID    int64      `db:"customer_id" json:"customer_id"`
	Payload       string     `db:"payload" json:"-"`
	Status        HookStatus `db:"status" json:"status"`
	Attempts      int        `db:"attempts" json:"attempts"`
	NextAttemptAt time.Time  `db:"next_attempt_at" json:"next_attempt_at"`
	LastError     string     `db:"last_error" json:"last_error"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
	DeliveredAt   *time.Time `db:"delivered_at" json:"delivered_at"`
}

// MessageID is the row's webhook-id: the same on every attempt and replay,
// so a receiver deduplicates on it.
func (r HookRow) MessageID() string { return fmt.Sprintf("msg_tidings_%d", r.ID) }

const hookColumns = `id, subscriber, event_type, event_key, customer_id, payload, status, attempts, next_attempt_at,
	last_error, created_at, delivered_at`

// ClaimDueHooks leases up to limit pending rows due at now whose customer
// has no earlier pending row for the same subscriber (a customer's events
// go out in order: a later one waits while an earlier one is retried). A
// leased row's next attempt moves to now+lease, so a sweeper that dies
// leaves it due again; the conditional update makes two sweepers never
// lease one row.
func (s *Store) ClaimDueHooks(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]HookRow, error) {
	var due []HookRow
	err := s.DB.SelectContext(ctx, &due, s.DB.Rebind(`SELECT `+hookColumns+` FROM webhook_outbox o
		WHERE status = 'pending' AND next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM webhook_outbox e
			WHERE e.status = 'pending' AND e.subscriber = o.subscriber AND e.customer_id = o.customer_id AND e.id < o.id)
		ORDER BY id LIMIT ?`), now.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due webhooks: %w", err)
	}
	out := due[:0]
	for _, r := range due {
		res, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE webhook_outbox SET next_attempt_at = ?
			WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?`), now.Add(lease).UTC(), r.ID, now.UTC())
		if err != nil {
			return nil, fmt.Errorf("store: lease webhook %d: %w", r.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			continue // another sweeper leased it first
		}
		out = append(out, r)
	}
	return out, nil
}

// HookDone records that row id was posted and acknowledged.
func (s *Store) HookDone(ctx context.Context, id int64, attempts int, now time.Time) error {
	_, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE webhook_outbox SET status = 'delivered', attempts = ?,
		delivered_at = ?, last_error = '' WHERE id = ? AND status = 'pending'`), attempts, now.UTC(), id)
	if err != nil {
		return fmt.Errorf("store: webhook %d delivered: %w", id, err)
	}
	return nil
}

// HookFailed records a failed attempt of row id: due again at next, or,
// when dead, moved to the dead-letter list (it then holds back no later
// row of its customer).
func (s *Store) HookFailed(ctx context.Context, id int64, attempts int, errText string, next time.Time, dead bool) error {
	status := HookPending
	if dead {
		status = HookDead
	}
	_, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE webhook_outbox SET status = ?, attempts = ?, last_error = ?,
		next_attempt_at = ? WHERE id = ? AND status = 'pending'`), status, attempts, truncate(errText, 500), next.UTC(), id)
	if err != nil {
		return fmt.Errorf("store: webhook %d failed: %w", id, err)
	}
	return nil
}

// Hooks lists outbox rows with the given status, newest first, up to limit.
func (s *Store) Hooks(ctx context.Context, status HookStatus, limit int) ([]HookRow, error) {
	var out []HookRow
	err := s.DB.SelectContext(ctx, &out, s.DB.Rebind(`SELECT `+hookColumns+` FROM webhook_outbox
		WHERE status = ? ORDER BY id DESC LIMIT ?`), status, limit)
	if err != nil {
		return nil, fmt.Errorf("store: %s webhooks: %w", status, err)
	}
	return out, nil
}

// HookCounts counts the outbox rows per status.
func (s *Store) HookCounts(ctx context.Context) (map[HookStatus]int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT status, COUNT(*) FROM webhook_outbox GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("store: count webhooks: %w", err)
	}
	defer rows.Close()
	out := map[HookStatus]int{}
	for rows.Next() {
		var st HookStatus
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// ReplayHooks puts dead rows back to pending, due now with a fresh retry
// budget: the rows with the given ids, or every dead row when ids is
// empty. It returns how many it put back; a row that is not dead is left
// as it is. The webhook-id stays the row's, so a receiver that did get an
// earlier attempt recognises the replay.
func (s *Store) ReplayHooks(ctx context.Context, ids []int64, now time.Time) (int64, error) {
	q, args := `UPDATE webhook_outbox SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE status = 'dead'`,
		[]any{now.UTC()}
	if len(ids) > 0 {
		var err error
		q, args, err = sqlx.In(q+` AND id IN (?)`, now.UTC(), ids)
		if err != nil {
			return 0, err
		}
	}
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(q), args...)
	if err != nil {
		return 0, fmt.Errorf("store: replay webhooks: %w", err)
	}
	return res.RowsAffected()
}
