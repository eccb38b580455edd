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

// The sources of a consent change (consent_changes.source): who or what
// changed the flag.
const (
	ConsentImport      = "import"        // a CSV import of customers
	ConsentWebhook     = "webhook"       // a signed purchase webhook carrying the profile
	ConsentUnsubscribe = "unsubscribe"   // the customer's unsubscribe link
	ConsentSMSStop     = "sms_stop"      // an inbound SMS STOP
	ConsentSMSStart    = "sms_start"     // an inbound SMS START
	ConsentAdmin       = "admin"         // an operator, through the admin API
	ConsentErasure     = "erasure"       // the customer's data was erased
	ConsentPreferences = "preferences"   // the customer's preference page (topics, unsubscribe from all)
	ConsentDoubleOptIn = "double_opt_in" // the customer followed the confirmation link of a sign-up
	ConsentAPI         = "api"           // PUT /v1/customers without a source of its own
)

// ConsentChange is one row of the consent history: a channel's consent
// (Channel set) or a topic's subscription (Topic set, Channel empty).
type ConsentChange struct {
	CustomerID int64         `json:"-" db:"customer_id"`
	Channel    channels.Name `json:"channel,omitempty" db:"channel"`
	Topic      string        `json:"topic,omitempty" db:"topic"`
	Granted    bool          `json:"granted" db:"granted"`
	Source     string        `json:"source" db:"source"`
	ChangedAt  time.Time     `json:"changed_at" db:"changed_at"`
}

// consentFlip is a consent flag that changed on a customer known by
// external id, to record once the customer's row is written.
type consentFlip struct {
	ext     string
	channel channels.Name
	granted bool
	source  string // "": the writer's source
}

// recordConsentByExternalID appends the flips to the consent history, with
// one statement per channel, value and source; source is the flips' own
// when they name none.
func (s *Store) recordConsentByExternalID(ctx context.Context, tx *sqlx.Tx, flips []consentFlip, source string) error {
	type group struct {
		channel channels.Name
		granted bool
		source  string
	}
	byGroup := map[group][]string{}
	var order []group
	for _, f := range flips {
		g := group{f.channel, f.granted, f.source}
		if g.source == "" {
			g.source = source
		}
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], f.ext)
	}
	for _, g := range order {
		ext := byGroup[g]
		for _, ch := range chunks(len(ext), maxInList) {
			part := anySlice(ext[ch[0]:ch[1]])
			args := append([]any{g.channel, g.granted, g.source}, part...)
			q := tx.Rebind(`INSERT INTO consent_changes (customer_id, channel, granted, source)
				SELECT id, CAST(? AS TEXT), CAST(? AS BOOLEAN), CAST(? AS TEXT) FROM customers
				WHERE external_id IN ` + placeholders(len(part)))
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("record consent changes: %w", err)
			}
		}
	}
	return nil
}

// SetConsent records whether the customer agrees to marketing on channel
// (customers.email_consent or sms_consent) and, when that changes it, the
// change and its source in the consent history. It returns ErrNotFound when
// the customer does not exist.
func (s *Store) SetConsent(ctx context.Context, customerID int64, channel channels.Name, ok bool, source string) error {
	col, err := consentColumn(channel)
	if err != nil {
		return fmt.Errorf("store: set consent of customer %d: %w", customerID, err)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error { return s.setConsentTx(ctx, tx, customerID, col, channel, ok, source) })
	if err != nil {
		return fmt.Errorf("store: set %s consent of customer %d: %w", channel, customerID, err)
	}
	return nil
}

func consentColumn(channel channels.Name) (string, error) {
	switch channel {
	case channels.Email:
		return "email_consent", nil
	case channels.SMS:
		return "sms_consent", nil
	}
	return "", fmt.Errorf("unknown channel %q", channel)
}

// setConsentTx sets one flag; col is consentColumn(channel), never input.
func (s *Store) setConsentTx(ctx context.Context, tx *sqlx.Tx, customerID int64, col string, channel channels.Name, ok bool, source string) error {
	var before bool
	if err := tx.QueryRowContext(ctx, tx.Rebind(`SELECT `+col+` FROM customers WHERE id = ?`), customerID).
		Scan(boolInto{&before}); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	}
	if before == ok {
		return nil
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE customers SET `+col+` = ?, updated_at = ? WHERE id = ?`),
		ok, time.Now().UTC(), customerID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO consent_changes (customer_id, channel, granted, source)
		VALUES (?, ?, ?, ?)`), customerID, channel, ok, source); err != nil {
		return err
	}
	if ok || source == ConsentErasure || !s.Hooked(HookCustomerUnsubscribed) {
		return nil // an erased person is not reported to anyone
	}
	return s.emitUnsubscribed(ctx, tx, customerID, channel, source)
}

// emitUnsubscribed reports, in the transaction that withdrew it, a consent
// withdrawn on channel (customer.unsubscribed).
func (s *Store) emitUnsubscribed(ctx context.Context, tx *sqlx.Tx, customerID int64, channel channels.Name, source string) error {
	var ext string
	var changeID int64
	if err := tx.QueryRowContext(ctx, tx.Rebind(`SELECT c.external_id, MAX(h.id) FROM customers c
		JOIN consent_changes h ON h.customer_id = c.id WHERE c.id = ? GROUP BY c.external_id`), customerID).
		Scan(&ext, &changeID); err != nil {
		return fmt.Errorf("webhook of the unsubscribe: %w", err)
	}
	return s.emitHookTx(ctx, tx, HookEvent{Type: HookCustomerUnsubscribed, Key: fmt.Sprint(changeID), CustomerID: customerID,
		At: time.Now(), Data: map[string]any{"customer": ext, "channel": channel, "source": source}})
}

// ConsentHistory returns the customer's consent changes, oldest first.
func (s *Store) ConsentHistory(ctx context.Context, customerID int64) ([]ConsentChange, error) {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT COALESCE(channel, ''), COALESCE(topic, ''), granted, source, changed_at
		FROM consent_changes WHERE customer_id = ? ORDER BY changed_at, id`), customerID)
	if err != nil {
		return nil, fmt.Errorf("store: consent history: %w", err)
	}
	defer rows.Close()
	out := []ConsentChange{}
	for rows.Next() {
		c := ConsentChange{CustomerID: customerID}
		if err := rows.Scan(&c.Channel, &c.Topic, boolInto{&c.Granted}, &c.Source, timeInto{&c.ChangedAt}); err != nil {
			return nil, fmt.Errorf("store: consent history: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: consent history: %w", err)
	}
	return out, nil
}

// ConsentCount is how many consent changes of one kind were recorded.
type ConsentCount struct {
	Source  string
	Channel channels.Name // "topic" for the changes of a topic's subscription
	Granted bool
	N       int64
}

// ConsentCounts counts the consent history by source, channel and value:
// /metrics serves it as a counter (rows are only ever added), so changes
// made by any process (an import, a webhook on another server) are counted.
func (s *Store) ConsentCounts(ctx context.Context) ([]ConsentCount, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT source, COALESCE(channel, 'topic'), granted, count(*) FROM consent_changes
		GROUP BY source, COALESCE(channel, 'topic'), granted ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, fmt.Errorf("store: count consent changes: %w", err)
	}
	defer rows.Close()
	var out []ConsentCount
	for rows.Next() {
		var c ConsentCount
		if err := rows.Scan(&c.Source, &c.Channel, boolInto{&c.Granted}, &c.N); err != nil {
			return nil, fmt.Errorf("store: count consent changes: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
