package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tidings-crm/tidings/channels"
)

// ConsentRequestTTL is how long a double opt-in confirmation link works: a
// later click confirms nothing, and the next sign-up opens a new request.
const ConsentRequestTTL = 7 * 24 * time.Hour

// Errors of ConfirmConsent.
var (
	// ErrRequestExpired: the confirmation link is older than ConsentRequestTTL.
	ErrRequestExpired = errors.New("the confirmation link has expired; sign up again for a new one")
)

// ConsentRequest is an open (or confirmed) double opt-in request.
type ConsentRequest struct {
	ID          int64
	CustomerID  int64
	Channel     channels.Name
	RequestedAt time.Time
	Confirmed   bool
}

// RequestConsent opens a double opt-in request for the customer's consent
// on channel, or returns the open one (requested within ConsentRequestTTL):
// a repeated sign-up asks once. fresh says whether the request is new.
func (s *Store) RequestConsent(ctx context.Context, customerID int64, channel channels.Name, source string, now time.Time) (req ConsentRequest, fresh bool, err error) {
	if _, err := consentColumn(channel); err != nil {
		return req, false, fmt.Errorf("store: consent request: %w", err)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var open []ConsentRequest
		rows, err := tx.QueryContext(ctx, tx.Rebind(`SELECT id, requested_at FROM consent_requests
			WHERE customer_id = ? AND channel = ? AND confirmed_at IS NULL ORDER BY id DESC`), customerID, channel)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := ConsentRequest{CustomerID: customerID, Channel: channel}
			if err := rows.Scan(&r.ID, timeInto{&r.RequestedAt}); err != nil {
				return err
			}
			open = append(open, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(open) > 0 && now.Sub(open[0].RequestedAt) < ConsentRequestTTL {
			req = open[0]
			return nil
		}
		req = ConsentRequest{CustomerID: customerID, Channel: channel, RequestedAt: now.UTC()}
		fresh = true
		return tx.QueryRowContext(ctx, tx.Rebind(`INSERT INTO consent_requests (customer_id, channel, source, requested_at)
			VALUES (?, ?, ?, ?) RETURNING id`), customerID, channel, source, timeArg(now)).Scan(&req.ID)
	})
	if err != nil {
		return ConsentRequest{}, false, fmt.Errorf("store: consent request of customer %d: %w", customerID, err)
	}
	return req, fresh, nil
}

// ConfirmConsent confirms request id of customerID: it grants the consent
// (consent history source double_opt_in) and closes the request, in one
// transaction. A second confirmation changes nothing (done is false). It
// returns ErrNotFound for an unknown request or another customer's, and
// ErrRequestExpired for a link older than ConsentRequestTTL.
func (s *Store) ConfirmConsent(ctx context.Context, id, customerID int64, now time.Time) (done bool, err error) {
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var r ConsentRequest
		var confirmed sql.NullString
		err := tx.QueryRowContext(ctx, tx.Rebind(`SELECT channel, requested_at, CAST(confirmed_at AS TEXT)
			FROM consent_requests WHERE id = ? AND customer_id = ?`), id, customerID).
			Scan(&r.Channel, timeInto{&r.RequestedAt}, &confirmed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case confirmed.Valid:
			return nil // confirmed before: a repeated click
		case now.Sub(r.RequestedAt) >= ConsentRequestTTL:
			return ErrRequestExpired
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE consent_requests SET confirmed_at = ? WHERE id = ?`),
			timeArg(now), id); err != nil {
			return err
		}
		col, _ := consentColumn(r.Channel)
		done = true
		return s.setConsentTx(ctx, tx, customerID, col, r.Channel, true, ConsentDoubleOptIn)
	})
	if err != nil {
		return false, fmt.Errorf("store: confirm consent request %d: %w", id, err)
	}
	return done, nil
}
