package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tidings-crm/tidings/channels"
)

// SuppressionReason is why an address is on a suppression list, as the
// suppressions.reason column (and its CHECK) spells it: a closed set, so a
// typed value keeps a ledger reason or a free-text error out of it.
type SuppressionReason string

// The reasons an address is suppressed (the suppressions.reason CHECK).
const (
	SuppressUnsubscribe SuppressionReason = "unsubscribe" // a one-click or confirmed unsubscribe link
	SuppressStop        SuppressionReason = "stop"        // an inbound SMS STOP (or a provider's 21610)
	SuppressHardBounce  SuppressionReason = "hard_bounce" // the address does not exist (SMTP 5.1.x)
	SuppressComplaint   SuppressionReason = "complaint"   // the recipient reported the message as spam
	SuppressManual      SuppressionReason = "manual"      // an operator's decision
	SuppressErased      SuppressionReason = "erased"      // the person's data was erased; the address stays opted out
)

// NormalizeAddress returns address as the suppressions table hashes it: an
// email trimmed and lower-cased, a phone number trimmed (it is already
// E.164). Every suppression read and write goes through it, so a lookup
// matches however the caller spelled the address.
func NormalizeAddress(channel channels.Name, address string) (string, error) {
	switch channel {
	case channels.Email, channels.SMS:
	default:
		return "", fmt.Errorf("store: unknown channel %q (want %q or %q)", channel, channels.Email, channels.SMS)
	}
	a := normalAddress(address)
	if a == "" {
		return "", fmt.Errorf("store: empty %s address", channel)
	}
	return a, nil
}

// normalAddress trims and lower-cases: an email's normal form, and a no-op
// on an E.164 number, so one form serves both channels.
func normalAddress(address string) string { return strings.ToLower(strings.TrimSpace(address)) }

// Suppress puts address on the channel's suppression list so no message is
// sent to it again, recording why and, when customerID is not 0, whose it
// is. Only the address's keyed hash is stored. It is idempotent:
// suppressing an address twice keeps the first reason and time (the
// earliest proof of opt-out) and only fills in a missing customer id.
func (s *Store) Suppress(ctx context.Context, channel channels.Name, address string, reason SuppressionReason, customerID int64) error {
	return s.suppress(ctx, s.DB, channel, address, reason, customerID)
}

func (s *Store) suppress(ctx context.Context, db sqlx.ExecerContext, channel channels.Name, address string, reason SuppressionReason, customerID int64) error {
	addr, err := s.AddressHash(ctx, channel, address)
	if err != nil {
		return err
	}
	var cust any
	if customerID != 0 {
		cust = customerID
	}
	_, err = db.ExecContext(ctx, s.DB.Rebind(`INSERT INTO suppressions (channel, address, reason, customer_id, hashed)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (channel, address) DO UPDATE
		SET customer_id = COALESCE(suppressions.customer_id, excluded.customer_id)`),
		channel, addr, reason, cust, true)
	if err != nil {
		return fmt.Errorf("store: suppress %s address (%s): %w", channel, reason, err)
	}
	return nil
}

// Unsuppress removes address from the channel's suppression list, whatever
// the reason it was on it: it is the re-opt-in path (an SMS START). It
// reports whether the address was suppressed.
func (s *Store) Unsuppress(ctx context.Context, channel channels.Name, address string) (bool, error) {
	addr, err := s.AddressHash(ctx, channel, address)
	if err != nil {
		return false, err
	}
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(`DELETE FROM suppressions WHERE channel = ? AND address = ?`),
		channel, addr)
	if err != nil {
		return false, fmt.Errorf("store: unsuppress %s address: %w", channel, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: unsuppress %s address: %w", channel, err)
	}
	return n > 0, nil
}

// IsSuppressed reports whether address is on the channel's suppression list.
// The delivery worker asks it just before each send, so an unsubscribe
// takes effect before the next message, not the next run.
func (s *Store) IsSuppressed(ctx context.Context, channel channels.Name, address string) (bool, error) {
	addr, err := s.AddressHash(ctx, channel, address)
	if err != nil {
		return false, err
	}
	var one int
	err = s.DB.GetContext(ctx, &one, s.DB.Rebind(`SELECT 1 FROM suppressions WHERE channel = ? AND address = ?`),
		channel, addr)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: is %s address suppressed: %w", channel, err)
	}
	return true, nil
}

// Suppression is one row of the suppressions table.
type Suppression struct {
	Channel     channels.Name     `json:"channel"`
	AddressHash string            `json:"address_hash"` // the keyed hash of the address (AddressHash)
	Reason      SuppressionReason `json:"reason"`
	CustomerID  int64             `json:"customer_id,omitempty"` // 0 when no customer is known
	CreatedAt   time.Time         `json:"created_at"`
}

// SuppressionFor returns the suppression of address on channel, or
// ErrNotFound.
func (s *Store) SuppressionFor(ctx context.Context, channel channels.Name, address string) (*Suppression, error) {
	addr, err := s.AddressHash(ctx, channel, address)
	if err != nil {
		return nil, err
	}
	var (
		sup  Suppression
		cust sql.NullInt64
	)
	err = s.DB.QueryRowContext(ctx, s.DB.Rebind(`SELECT channel, address, reason, customer_id, created_at
		FROM suppressions WHERE channel = ? AND address = ?`), channel, addr).
		Scan(&sup.Channel, &sup.AddressHash, &sup.Reason, &cust, timeInto{&sup.CreatedAt})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("store: %s suppression: %w", channel, ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("store: read %s suppression: %w", channel, err)
	}
	sup.CustomerID = cust.Int64
	return &sup, nil
}

// CustomersByPhone returns every customer whose phone is phone (E.164, as
// stored), in id order; an empty slice when there is none. Several customers
// may share a number, and an inbound STOP applies to all of them.
func (s *Store) CustomersByPhone(ctx context.Context, phone string) ([]*Customer, error) {
	phone = strings.TrimSpace(phone)
	if phone == "" {
		return nil, nil
	}
	rows, err := s.DB.QueryContext(ctx,
		s.DB.Rebind(`SELECT `+customerColumns()+` FROM customers WHERE phone = ? ORDER BY id`), phone)
	if err != nil {
		return nil, fmt.Errorf("store: customers by phone: %w", err)
	}
	defer rows.Close()
	var out []*Customer
	for rows.Next() {
		c := new(Customer)
		if err := newCustomerRow(c, nil).scan(rows); err != nil {
			return nil, fmt.Errorf("store: customers by phone: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: customers by phone: %w", err)
	}
	return out, nil
}
