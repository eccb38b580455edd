package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ErrNotClaimable is returned by ClaimForSend when the row cannot be sent now:
// already claimed or finished, not due, past its late deadline, or (for a customer's own message) the
// consent was withdrawn or the address suppressed since it was planned.
var ErrNotClaimable = errors.New("store: delivery not claimable")

// ClaimForSend atomically moves a due waiting row to sending under token and
// returns it. When address is not empty the row is a message to the customer
// and the claim also requires, in the same statement, that the customer still
// consents on the row's channel and that address is not suppressed: an
// unsubscribe committed before the claim always wins (DESIGN.md invariant 4).
func (s *Store) ClaimForSend(ctx context.Context, id int64, token, address string, now time.Time) (*Delivery, error) {
	return s.claimFor(ctx, id, token, Check{Address: address}, now)
}

// Check is what a claim requires of a message to the customer besides its
// state: Address ("" for an internal alert) still consented to on the
// row's channel and not suppressed, and, when Topic is set, the customer
// not opted out of that topic. AskingConsent drops the consent half (the
// address must still not be suppressed): the double opt-in confirmation
// goes to a customer who has not consented yet, by its nature.
type Check struct {
	Address       string
	Topic         string
	AskingConsent bool
}

func (s *Store) claimFor(ctx context.Context, id int64, token string, check Check, now time.Time) (*Delivery, error) {
	var d Delivery
	args, err := s.claimArgs(ctx, id, token, check, now)
	if err != nil {
		return nil, err
	}
	err = s.DB.GetContext(ctx, &d, s.DB.Rebind(claimSQL(check)+` RETURNING `+deliveryColumns), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotClaimable
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim delivery %d: %w", id, err)
	}
	return &d, nil
}

// claimSQL is the claim of ClaimForSend, with the consent and suppression
// check for a message to the customer; claimArgs are its arguments.
func claimSQL(check Check) string {
	q := `UPDATE deliveries
		SET status = 'sending', claim_token = ?, claimed_at = ?, updated_at = ?, attempts = attempts + 1
		WHERE id = ? AND status IN ('pending', 'deferred') AND (not_before IS NULL OR not_before <= ?)
			AND (expires_at IS NULL OR expires_at >= ?)`
	if check.Address != "" && !check.AskingConsent {
		q += ` AND EXISTS (SELECT 1 FROM customers c WHERE c.id = deliveries.customer_id AND
				CASE deliveries.channel WHEN 'email' THEN c.email_consent ELSE c.sms_consent END)`
	}
	if check.Address != "" {
		q += ` AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = deliveries.channel AND s.address = ?)`
	}
	if check.Topic != "" {
		q += ` AND NOT EXISTS (SELECT 1 FROM topic_optouts t WHERE t.customer_id = deliveries.customer_id AND t.topic = ?)`
	}
	return q
}

// claimArgs are claimSQL's arguments; the address is looked up by its keyed
// hash, as the suppressions table stores it.
func (s *Store) claimArgs(ctx context.Context, id int64, token string, check Check, now time.Time) ([]any, error) {
	args := []any{token, now.UTC(), now.UTC(), id, now.UTC(), now.UTC()}
	if check.Address != "" {
		h, err := s.keyedHash(ctx)
		if err != nil {
			return nil, err
		}
		args = append(args, h.sum(normalAddress(check.Address)))
	}
	if check.Topic != "" {
		args = append(args, check.Topic)
	}
	return args, nil
}

// Outcome is the result of a claimed send, to record with SettleAndClaim:
// the row, the claim token that fences it, and the status, provider id and
// error to write.
type Outcome struct {
	ID         int64
	Token      string
	Status     Status
	ProviderID string
	Error      Reason
}

// Deliveries returns the rows with the given ids, in id order (missing ids
// are left out).
func (s *Store) Deliveries(ctx context.Context, ids []int64) ([]Delivery, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(`SELECT `+deliveryColumns+` FROM deliveries WHERE id IN (?) ORDER BY id`, ids)
	if err != nil {
		return nil, err
	}
	var out []Delivery
	if err := s.DB.SelectContext(ctx, &out, s.DB.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: deliveries: %w", err)
	}
	return out, nil
}

// SetWaitingStatus moves a waiting (pending or deferred) row to a final
// status with a reason, e.g. suppressed or cancelled; it reports whether the
// row was still waiting.
func (s *Store) SetWaitingStatus(ctx context.Context, id int64, status Status, reason Reason, now time.Time) (bool, error) {
	n, err := s.CancelDeliveries(ctx, []int64{id}, status, reason, now)
	return n == 1, err
}

// Defer moves a waiting row to deferred until notBefore (quiet hours).
func (s *Store) Defer(ctx context.Context, id int64, notBefore time.Time, reason Reason, now time.Time) error {
	_, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE deliveries SET status = 'deferred', not_before = ?, error = ?,
		updated_at = ? WHERE id = ? AND status IN ('pending', 'deferred')`), notBefore.UTC(), reason, now.UTC(), id)
	if err != nil {
		return fmt.Errorf("store: defer delivery %d: %w", id, err)
	}
	return nil
}

// CustomersByIDs returns the customers with the given ids, keyed by id.
func (s *Store) CustomersByIDs(ctx context.Context, ids []int64) (map[int64]*Customer, error) {
	out := make(map[int64]*Customer, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT `+customerColumns()+` FROM customers WHERE id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: customers by id: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c := new(Customer)
		if err := newCustomerRow(c, nil).scan(rows); err != nil {
			return nil, fmt.Errorf("store: customers by id: %w", err)
		}
		out[c.ID] = c
	}
	return out, rows.Err()
}
