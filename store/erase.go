package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tidings-crm/tidings/channels"
)

// Erasure is what EraseCustomer did: the customer row left as a tombstone
// and the ledger rows whose messages (in an outbox, in a queue's error
// text) the caller removes outside the database.
type Erasure struct {
	CustomerID  int64     `json:"customer_id"`
	ErasedAt    time.Time `json:"erased_at"`
	Already     bool      `json:"already_erased,omitempty"` // erased before; nothing changed now
	DeliveryIDs []int64   `json:"-"`
	Cancelled   int       `json:"cancelled"`    // messages waiting to go out, cancelled
	Suppressed  int       `json:"suppressed"`   // addresses kept as keyed hashes, so they stay opted out
	InboxEvents int       `json:"inbox_events"` // webhook events whose payload was removed
}

// erasedExternalID is the external id an erased customer keeps: unique,
// and telling nothing about the person. A later import or webhook with the
// old external id creates a new customer.
func erasedExternalID(id int64) string { return "erased:" + strconv.FormatInt(id, 10) }

// EraseCustomer removes the personal data of customer id from every table,
// in one transaction, and keeps what reports need: the customer row stays
// with its id, purchase metrics and scores, emptied of identity (a
// tombstone recorded in erasures); purchases keep order id, amount and time
// but not their items; ledger rows keep campaign, status and times but not
// error texts; webhook events of the customer lose their payload (the event
// id stays, so a redelivery is still recognised); journeys the customer is
// in end, and their events lose their properties. Each address becomes a
// keyed-hash suppression with reason "erased", so a later import or webhook
// with it creates a customer without marketing consent. Messages still
// waiting are cancelled. On SQLite the write-ahead log is then checkpointed
// and truncated: with secure_delete (set on every connection) no copy of the
// erased values is left in the file.
//
// Erasing an erased customer changes nothing (Already). ErrNotFound when
// the customer does not exist.
func (s *Store) EraseCustomer(ctx context.Context, id int64) (*Erasure, error) {
	if _, err := s.keyedHash(ctx); err != nil {
		return nil, err
	}
	er := &Erasure{CustomerID: id}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error { return s.eraseTx(ctx, tx, er) })
	if err != nil {
		return nil, fmt.Errorf("store: erase customer %d: %w", id, err)
	}
	if s.Dialect == SQLite && !er.Already {
		if _, err := s.DB.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return er, fmt.Errorf("store: erase customer %d: checkpoint: %w", id, err)
		}
	}
	return er, nil
}

func (s *Store) eraseTx(ctx context.Context, tx *sqlx.Tx, er *Erasure) error {
	id := er.CustomerID
	var c struct {
		Ext   string `db:"external_id"`
		Email string `db:"email"`
		Phone string `db:"phone"`
	}
	err := tx.GetContext(ctx, &c, tx.Rebind(`SELECT external_id, email, phone FROM customers WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	var at time.Time
	err = tx.QueryRowContext(ctx, tx.Rebind(`SELECT erased_at FROM erasures WHERE customer_id = ?`), id).Scan(timeInto{&at})
	if err == nil {
		// Listed again so that the cleanups outside the database (queue,
		// outbox) can be redone when they failed the first time.
		er.Already, er.ErasedAt = true, at
		return tx.SelectContext(ctx, &er.DeliveryIDs, tx.Rebind(`SELECT id FROM deliveries WHERE customer_id = ? ORDER BY id`), id)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	er.ErasedAt = time.Now().UTC()
	for _, a := range []struct {
		channel channels.Name
		addr    string
	}{{channels.Email, c.Email}, {channels.SMS, c.Phone}} {
		if normalAddress(a.addr) == "" {
			continue
		}
		if err := s.suppress(ctx, tx, a.channel, a.addr, SuppressErased, id); err != nil {
			return err
		}
		er.Suppressed++
	}
	for _, channel := range []channels.Name{channels.Email, channels.SMS} {
		col, _ := consentColumn(channel)
		if err := s.setConsentTx(ctx, tx, id, col, channel, false, ConsentErasure); err != nil {
			return err
		}
	}
	if er.InboxEvents, err = s.eraseInbox(ctx, tx, c.Ext); err != nil {
		return err
	}
	return s.eraseRows(ctx, tx, er)
}

// eraseInbox empties the payload of the customer's webhook events. Events
// not processed yet are settled: there is no one left to react for.
func (s *Store) eraseInbox(ctx context.Context, tx *sqlx.Tx, ext string) (int, error) {
	// A purchase's payload names the customer as {"external_id": ...}, an
	// event of /v1/events as a plain string.
	who := `(json_extract(payload, '$.customer.external_id') = ? OR json_extract(payload, '$.customer') = ?)`
	if s.Dialect == Postgres {
		who = `(payload->'customer'->>'external_id' = ? OR payload->>'customer' = ?)`
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE webhook_inbox SET payload = '{}',
		status = CASE status WHEN 'processed' THEN status ELSE 'processed' END,
		error = CASE status WHEN 'processed' THEN error ELSE 'customer erased' END,
		processed_at = COALESCE(processed_at, ?) WHERE `+who), time.Now().UTC(), ext, ext)
	if err != nil {
		return 0, fmt.Errorf("erase webhook payloads: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// eraseRows empties the customer's own rows and records the erasure.
func (s *Store) eraseRows(ctx context.Context, tx *sqlx.Tx, er *Erasure) error {
	id, now := er.CustomerID, er.ErasedAt
	if err := tx.SelectContext(ctx, &er.DeliveryIDs, tx.Rebind(`SELECT id FROM deliveries WHERE customer_id = ? ORDER BY id`), id); err != nil {
		return fmt.Errorf("list deliveries: %w", err)
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE deliveries SET status = 'cancelled', error = 'customer erased',
		claim_token = NULL, updated_at = ? WHERE customer_id = ? AND status IN ('pending', 'deferred')`), now, id)
	if err != nil {
		return fmt.Errorf("cancel waiting messages: %w", err)
	}
	n, _ := res.RowsAffected()
	er.Cancelled = int(n)
	steps := []struct{ what, q string }{
		{"ledger error texts", `UPDATE deliveries SET error = '' WHERE customer_id = ? AND error <> '' AND error <> 'customer erased'`},
		{"ledger feedback texts", `UPDATE deliveries SET feedback_text = '' WHERE customer_id = ? AND feedback_text <> ''`},
		{"feedback diagnostics", `UPDATE delivery_feedback SET diagnostic = '', address_hash = '' WHERE customer_id = ?`},
		{"purchase items", `UPDATE purchases SET items = '[]' WHERE customer_id = ? AND items <> '[]'`},
		{"customer events", `UPDATE customer_events SET data = '{}' WHERE customer_id = ?`},
		// The events log is append-only but for this: a shop's properties
		// may hold anything personal; type and time stay (counts, exits).
		{"events log properties", `UPDATE events SET properties = '{}' WHERE customer_id = ?`},
		// The key stays (a retried send must not go out again), the data goes.
		{"transactional send data", `UPDATE transactional_sends SET data = '{}' WHERE customer_id = ?`},
		{"journey events", `UPDATE journey_events SET properties = '{}'
			WHERE state_id IN (SELECT id FROM journey_states WHERE customer_id = ?)`},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, tx.Rebind(st.q), id); err != nil {
			return fmt.Errorf("erase %s: %w", st.what, err)
		}
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE journey_states SET status = 'done', exit_reason = 'customer erased',
		due_at = NULL, done_at = ?, updated_at = ? WHERE customer_id = ? AND status IN ('active', 'waiting')`), now, now, id); err != nil {
		return fmt.Errorf("end journeys: %w", err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE customers SET external_id = ?, email = '', phone = '',
		first_name = '', last_name = '', locale = '', time_zone = '', birthday = NULL, email_consent = ?,
		sms_consent = ?, tags = '[]', attributes = '{}', updated_at = ? WHERE id = ?`),
		erasedExternalID(id), false, false, now, id); err != nil {
		return fmt.Errorf("empty the customer row: %w", err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO erasures (customer_id, erased_at) VALUES (?, ?)`), id, now); err != nil {
		return fmt.Errorf("record the erasure: %w", err)
	}
	return nil
}

// FindCustomer returns the customer whose id (all digits), external id,
// email or phone is ref: how an operator names the person to erase or
// export. More than one customer with that email or phone is an error
// listing their ids.
func (s *Store) FindCustomer(ctx context.Context, ref string) (*Customer, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		if c, err := s.CustomerByID(ctx, id); err == nil || !errors.Is(err, ErrNotFound) {
			return c, err
		}
	}
	if c, err := s.CustomerByExternalID(ctx, ref); err == nil || !errors.Is(err, ErrNotFound) {
		return c, err
	}
	var ids []int64
	if err := s.DB.SelectContext(ctx, &ids, s.DB.Rebind(`SELECT id FROM customers WHERE lower(email) = ? OR phone = ?
		ORDER BY id LIMIT 10`), normalAddress(ref), normalAddress(ref)); err != nil {
		return nil, fmt.Errorf("store: find customer: %w", err)
	}
	switch len(ids) {
	case 0:
		return nil, fmt.Errorf("store: no customer has that id, external id, email or phone: %w", ErrNotFound)
	case 1:
		return s.CustomerByID(ctx, ids[0])
	}
	return nil, fmt.Errorf("store: %d customers share that address (ids %v); name one by id", len(ids), ids)
}
