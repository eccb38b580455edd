package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// EmitMessageHook reports what became of the ledger row deliveryID to the
// subscribers of typ (HookMessageSent, HookMessageFailed,
// HookMessageBounced), once per row and type however often it is called:
// the worker calls it right after it records a send's outcome, and a
// provider's bounce report calls it when the bounce arrives. detail is the
// error or bounce text (never an address).
func (s *Store) EmitMessageHook(ctx context.Context, typ string, deliveryID int64, detail string, at time.Time) error {
	if !s.Hooked(typ) {
		return nil
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return s.emitMessageHookTx(ctx, tx, typ, deliveryID, detail, nil, at) })
}

// emitMessageHookTx writes a delivery's webhook event within tx, for a fact
// written in the same transaction; extra adds fields to its data.
func (s *Store) emitMessageHookTx(ctx context.Context, tx *sqlx.Tx, typ string, deliveryID int64, detail string,
	extra map[string]any, at time.Time) error {
	if !s.Hooked(typ) {
		return nil
	}
	var d struct {
		Campaign   string `db:"campaign_id"`
		CustomerID int64  `db:"customer_id"`
		Occurrence string `db:"occurrence"`
		Channel    string `db:"channel"`
		Variant    string `db:"variant"`
		ProviderID string `db:"provider_id"`
		Customer   string `db:"external_id"`
	}
	err := tx.GetContext(ctx, &d, tx.Rebind(`SELECT d.campaign_id, d.customer_id, d.occurrence, d.channel, d.variant,
		d.provider_id, c.external_id FROM deliveries d JOIN customers c ON c.id = d.customer_id WHERE d.id = ?`), deliveryID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s webhook of delivery %d: %w", typ, deliveryID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: %s webhook of delivery %d: %w", typ, deliveryID, err)
	}
	data := map[string]any{"delivery_id": deliveryID, "campaign": d.Campaign, "occurrence": d.Occurrence,
		"channel": d.Channel, "variant": d.Variant, "customer": d.Customer}
	if d.ProviderID != "" {
		data["provider_id"] = d.ProviderID
	}
	if detail != "" {
		data["error"] = truncate(detail, 500)
	}
	for k, v := range extra {
		data[k] = v
	}
	return s.emitHookTx(ctx, tx, HookEvent{Type: typ, Key: fmt.Sprint(deliveryID), CustomerID: d.CustomerID, At: at,
		Data: data})
}

// LastTouch is the message a purchase is credited to: the customer's
// latest sent ledger row before the purchase.
type LastTouch struct {
	DeliveryID int64     `db:"id"`
	Campaign   string    `db:"campaign_id"`
	Variant    string    `db:"variant"`
	SentAt     time.Time `db:"sent_at"`
}

// LastSentBefore returns the customer's latest message sent before at (the
// last touch a purchase at at is credited to), or ErrNotFound.
func (s *Store) LastSentBefore(ctx context.Context, customerID int64, at time.Time) (*LastTouch, error) {
	var t LastTouch
	err := s.DB.GetContext(ctx, &t, s.DB.Rebind(`SELECT id, campaign_id, variant, sent_at FROM deliveries
		WHERE customer_id = ? AND status = 'sent' AND sent_at < ? ORDER BY sent_at DESC, id DESC LIMIT 1`),
		customerID, at.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: last message to customer %d: %w", customerID, err)
	}
	return &t, nil
}
