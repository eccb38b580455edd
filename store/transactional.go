package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// TransactionalSend is one request of POST /v1/send as the store keeps it:
// its idempotency key (the ledger row's occurrence), a hash of what it
// asked (campaign, customer, data) and the template data.
type TransactionalSend struct {
	Key         string
	PayloadHash string
	Data        json.RawMessage // a JSON object
}

// SendRecord is the ledger row of a transactional send, new or recorded
// before under the same key.
type SendRecord struct {
	DeliveryID int64
	Status     Status
	Reason     Reason
	NotBefore  *time.Time
	// Repeat: the key was recorded before; Changed: with another request
	// (then nothing was written).
	Repeat, Changed bool
}

// RecordTransactional writes the ledger row of a transactional send and
// its request in one transaction, once per key: a key recorded before
// returns its row (Repeat, and Changed when the request differs), and
// writes nothing. Concurrent requests with one key write one row.
func (s *Store) RecordTransactional(ctx context.Context, send TransactionalSend, row NewDelivery, now time.Time) (SendRecord, error) {
	var rec SendRecord
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if rec, err = s.recordedSend(ctx, tx, send); err == nil || !errors.Is(err, ErrNotFound) {
			return err
		}
		in, err := insertDeliveries(ctx, tx, []NewDelivery{row}, now)
		if err != nil {
			return err
		}
		if len(in) == 0 { // a concurrent request with the key committed first
			rec, err = s.recordedSend(ctx, tx, send)
			return err
		}
		rec = SendRecord{DeliveryID: in[0].ID, Status: in[0].Status, Reason: row.Error, NotBefore: in[0].NotBefore}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO transactional_sends (idempotency_key, campaign_id,
			customer_id, payload_hash, data, delivery_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			send.Key, row.CampaignID, row.CustomerID, send.PayloadHash, string(send.Data), rec.DeliveryID, now.UTC())
		return err
	})
	if err != nil {
		return SendRecord{}, fmt.Errorf("store: record transactional send: %w", err)
	}
	return rec, nil
}

// recordedSend returns the row recorded under send's key, or ErrNotFound.
func (s *Store) recordedSend(ctx context.Context, tx *sqlx.Tx, send TransactionalSend) (SendRecord, error) {
	var rec SendRecord
	var hash string
	var notBefore time.Time
	err := tx.QueryRowContext(ctx, tx.Rebind(`SELECT t.payload_hash, d.id, d.status, d.error, d.not_before
		FROM transactional_sends t JOIN deliveries d ON d.id = t.delivery_id WHERE t.idempotency_key = ?`), send.Key).
		Scan(&hash, &rec.DeliveryID, &rec.Status, &rec.Reason, timeInto{&notBefore})
	if errors.Is(err, sql.ErrNoRows) {
		return rec, ErrNotFound
	}
	if err != nil {
		return rec, err
	}
	if !notBefore.IsZero() {
		rec.NotBefore = &notBefore
	}
	rec.Repeat, rec.Changed = true, hash != send.PayloadHash
	return rec, nil
}

// TransactionalData returns the template data of the transactional send
// that created delivery id ({} when none, or erased).
func (s *Store) TransactionalData(ctx context.Context, deliveryID int64) (map[string]any, error) {
	var raw []byte
	err := s.DB.QueryRowContext(ctx, s.DB.Rebind(`SELECT data FROM transactional_sends WHERE delivery_id = ?`), deliveryID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: transactional data of delivery %d: %w", deliveryID, err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("store: transactional data of delivery %d: %w", deliveryID, err)
	}
	return out, nil
}
