package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tidings-crm/tidings/channels"
)

// FeedbackType is what a provider reported about a sent message, as the
// delivery_feedback.type and deliveries.feedback columns spell it.
type FeedbackType string

// The kinds of feedback (the delivery_feedback.type CHECK).
const (
	FeedbackHardBounce  FeedbackType = "hard_bounce" // the address does not exist or refuses mail for good
	FeedbackSoftBounce  FeedbackType = "soft_bounce" // a temporary failure (mailbox full, greylisting...)
	FeedbackComplaint   FeedbackType = "complaint"   // the recipient reported the message as spam
	FeedbackDelivered   FeedbackType = "delivered"   // the receiving server (or carrier) confirmed delivery
	FeedbackUndelivered FeedbackType = "undelivered" // an SMS the carrier could not deliver
)

// rank orders feedback on one delivery row: the row shows the strongest
// seen, and a later one of the same rank (a soft bounce, then delivered).
func (t FeedbackType) rank() int {
	switch t {
	case FeedbackComplaint:
		return 4
	case FeedbackHardBounce:
		return 3
	case FeedbackUndelivered:
		return 2
	case FeedbackSoftBounce, FeedbackDelivered:
		return 1
	}
	return 0
}

// add counts one sent message whose strongest report is t.
func (c *FeedbackCounts) add(t FeedbackType) {
	switch t {
	case FeedbackHardBounce:
		c.HardBounced++
	case FeedbackSoftBounce, FeedbackUndelivered:
		c.SoftBounced++
	case FeedbackComplaint:
		c.Complained++
		c.Confirmed++
	case FeedbackDelivered:
		c.Confirmed++
	}
}

// valid reports whether t is one of the feedback types.
func (t FeedbackType) valid() bool { return t.rank() > 0 }

// Feedback is one report from a provider about a message: a bounce, a
// complaint or a delivery receipt. Every receiver (the provider webhooks, a
// bounce mailbox) builds one and calls RecordFeedback.
type Feedback struct {
	// Provider names the source ("ses", "sendgrid", "postmark", "mailgun",
	// "twilio", "sms", "imap"); with EventID it makes the report's
	// idempotency key.
	Provider string
	// EventID is the provider's own id of this report (an SNS MessageId, a
	// SendGrid sg_event_id, a DSN's Message-ID...). A report with the same
	// provider and event id is recorded once.
	EventID string
	Type    FeedbackType
	Channel channels.Name
	// DeliveryID is the ledger row when the receiver knows it (a verified
	// VERP address, a Message-ID Tidings wrote); 0 otherwise.
	DeliveryID int64
	// ProviderMessageID is matched against the provider id recorded at send
	// (the email's Message-ID, an SMS provider's message id) when
	// DeliveryID is 0.
	ProviderMessageID string
	// Address is the recipient as the provider reports it: the address
	// suppressed on a hard bounce or complaint. "" uses the address of the
	// matched row's customer.
	Address string
	// Permanent marks an undelivered SMS whose number cannot receive
	// messages (Twilio 30003, 30005, 30006): suppressed like a hard bounce.
	Permanent bool
	// Diagnostic is the provider's text (an SMTP reply, an error code);
	// addresses in it are masked before it is stored.
	Diagnostic string
	OccurredAt time.Time // when the provider says it happened; zero: now
}

// FeedbackResult is what RecordFeedback did.
type FeedbackResult struct {
	Duplicate  bool   // the same provider event was recorded before: nothing changed
	DeliveryID int64  // the ledger row it was matched to; 0 when none matched
	CampaignID string // that row's campaign (or journey)
	Suppressed bool   // the address was put on the suppression list
	Event      string // the events-log type written ("" when none)
	// Paused is the reason the campaign paused itself on this report ("" when
	// it did not).
	Paused string
}

// FeedbackPolicy is what bounces and complaints do beyond being recorded.
type FeedbackPolicy struct {
	// SoftBounceLimit soft bounces (or undelivered SMS) of one address
	// within SoftBounceWindow suppress it as a hard bounce would.
	SoftBounceLimit  int
	SoftBounceWindow time.Duration
	// A campaign pauses itself when, over its sent messages, the share of
	// complained ones passes ComplaintRate or the share of hard-bounced ones
	// passes HardBounceRate, once it has sent at least MinSample messages.
	ComplaintRate  float64
	HardBounceRate float64
	MinSample      int
}

// DefaultFeedbackPolicy is the policy of a store no one configured: 3 soft
// bounces in 7 days suppress; 0.1% complaints or 5% hard bounces over at
// least 1,000 sent messages pause the campaign.
func DefaultFeedbackPolicy() FeedbackPolicy {
	return FeedbackPolicy{SoftBounceLimit: 3, SoftBounceWindow: 7 * 24 * time.Hour,
		ComplaintRate: 0.001, HardBounceRate: 0.05, MinSample: 1000}
}

// Validate says which setting is out of range.
func (p FeedbackPolicy) Validate() error {
	switch {
	case p.SoftBounceLimit < 1:
		return fmt.Errorf("soft bounce limit must be at least 1, got %d", p.SoftBounceLimit)
	case p.SoftBounceWindow <= 0:
		return fmt.Errorf("soft bounce window must be positive, got %s", p.SoftBounceWindow)
	case p.ComplaintRate <= 0 || p.ComplaintRate >= 1:
		return fmt.Errorf("complaint rate threshold must be between 0 and 1 (0.001 is 0.1%%), got %g", p.ComplaintRate)
	case p.HardBounceRate <= 0 || p.HardBounceRate >= 1:
		return fmt.Errorf("hard bounce rate threshold must be between 0 and 1 (0.05 is 5%%), got %g", p.HardBounceRate)
	case p.MinSample < 1:
		return fmt.Errorf("pause minimum sample must be at least 1 sent message, got %d", p.MinSample)
	}
	return nil
}

// feedbackPolicy holds a store's policy (SetFeedbackPolicy).
type feedbackPolicy = atomic.Pointer[FeedbackPolicy]

// SetFeedbackPolicy sets the policy RecordFeedback applies; a store never
// given one applies DefaultFeedbackPolicy.
func (s *Store) SetFeedbackPolicy(p FeedbackPolicy) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("store: feedback policy: %w", err)
	}
	s.feedback.Store(&p)
	return nil
}

func (s *Store) feedbackPolicy() FeedbackPolicy {
	if p := s.feedback.Load(); p != nil {
		return *p
	}
	return DefaultFeedbackPolicy()
}

// ErrBadFeedback is wrapped by RecordFeedback's refusal of a report that
// lacks what it needs; receivers answer it with a 400.
var ErrBadFeedback = errors.New("store: bad feedback")

func (f *Feedback) check() error {
	switch {
	case strings.TrimSpace(f.Provider) == "":
		return fmt.Errorf("%w: no provider", ErrBadFeedback)
	case strings.TrimSpace(f.EventID) == "":
		return fmt.Errorf("%w: %s report without an event id", ErrBadFeedback, f.Provider)
	case !f.Type.valid():
		return fmt.Errorf("%w: %s report of unknown type %q (want hard_bounce, soft_bounce, complaint, delivered or undelivered)",
			ErrBadFeedback, f.Provider, f.Type)
	case f.Channel != channels.Email && f.Channel != channels.SMS:
		return fmt.Errorf("%w: %s report on unknown channel %q", ErrBadFeedback, f.Provider, f.Channel)
	}
	return nil
}

// RecordFeedback records one provider report, once per (provider, event
// id), in one transaction: on the matched delivery row (type, provider,
// text, time), in the feedback log, on the suppression list (a hard
// bounce, a complaint, a permanently undeliverable number, or the policy's
// count of soft bounces), in the events log as email_bounced,
// email_complained or sms_undelivered (which also wakes journeys waiting
// for them), and, past the policy's rates, as a pause of the campaign that
// its workers see before their next batch. A report that matches no row is
// still recorded and still suppresses its address.
func (s *Store) RecordFeedback(ctx context.Context, f Feedback) (FeedbackResult, error) {
	var res FeedbackResult
	if err := f.check(); err != nil {
		return res, err
	}
	now := time.Now().UTC()
	if f.OccurredAt.IsZero() {
		f.OccurredAt = now
	}
	f.OccurredAt = f.OccurredAt.UTC()
	f.Diagnostic = truncate(maskAddresses(f.Diagnostic), 1000)
	pol := s.feedbackPolicy()
	if _, err := s.keyedHash(ctx); err != nil {
		return res, err
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res = FeedbackResult{}
		return s.recordFeedback(ctx, tx, &f, pol, now, &res)
	})
	if err != nil {
		return FeedbackResult{}, fmt.Errorf("store: record %s %s from %s: %w", f.Channel, f.Type, f.Provider, err)
	}
	return res, nil
}

// matchedRow is the ledger row a report is about.
type matchedRow struct {
	ID         int64         `db:"id"`
	CampaignID string        `db:"campaign_id"`
	CustomerID int64         `db:"customer_id"`
	Channel    channels.Name `db:"channel"`
	Variant    string        `db:"variant"`
	Feedback   FeedbackType  `db:"feedback"`
	Email      string        `db:"email"`
	Phone      string        `db:"phone"`
}

func (s *Store) recordFeedback(ctx context.Context, tx *sqlx.Tx, f *Feedback, pol FeedbackPolicy, now time.Time, res *FeedbackResult) error {
	row, err := matchFeedback(ctx, tx, f)
	if err != nil {
		return err
	}
	address := f.Address
	var custID any
	if row != nil {
		res.DeliveryID, res.CampaignID, custID = row.ID, row.CampaignID, row.CustomerID
		if address == "" {
			address = row.Email
			if f.Channel == channels.SMS {
				address = row.Phone
			}
		}
	}
	hash := ""
	if address != "" {
		if hash, err = s.AddressHash(ctx, f.Channel, address); err != nil {
			return err
		}
	}
	var delivery any
	if row != nil {
		delivery = row.ID
	}
	var id int64
	err = tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO delivery_feedback (provider, event_id, delivery_id,
		campaign_id, customer_id, channel, type, address_hash, diagnostic, occurred_at, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, event_id) DO NOTHING RETURNING id`),
		f.Provider, f.EventID, delivery, res.CampaignID, custID, f.Channel, f.Type, hash, f.Diagnostic, f.OccurredAt, now)
	if errors.Is(err, sql.ErrNoRows) {
		*res = FeedbackResult{Duplicate: true, DeliveryID: res.DeliveryID, CampaignID: res.CampaignID}
		return nil
	}
	if err != nil {
		return fmt.Errorf("log feedback: %w", err)
	}
	if row != nil {
		if err := markDelivery(ctx, tx, row, f); err != nil {
			return err
		}
	}
	if address != "" {
		if res.Suppressed, err = s.suppressFor(ctx, tx, f, address, hash, row, pol); err != nil {
			return err
		}
	}
	if row != nil {
		if res.Event, err = feedbackEvent(ctx, tx, f, row, now); err != nil {
			return err
		}
		if res.Paused, err = s.safetyPause(ctx, tx, row.CampaignID, f.Type, pol, now); err != nil {
			return err
		}
		if f.Type.bounced() {
			// The outgoing webhook is written with the report it tells of.
			extra := map[string]any{"feedback": string(f.Type), "provider": f.Provider}
			if err := s.emitMessageHookTx(ctx, tx, HookMessageBounced, row.ID, f.Diagnostic, extra, f.OccurredAt); err != nil {
				return err
			}
		}
	}
	return nil
}

// bounced reports whether a report of type t is a bounce, as outgoing
// webhooks tell it (message.bounced): an email bounce of either kind or an
// SMS the carrier could not deliver.
func (t FeedbackType) bounced() bool {
	return t == FeedbackHardBounce || t == FeedbackSoftBounce || t == FeedbackUndelivered
}

// matchFeedback finds the ledger row of a report: by its id, else by the
// provider id recorded at send; nil when none matches.
func matchFeedback(ctx context.Context, tx *sqlx.Tx, f *Feedback) (*matchedRow, error) {
	const cols = `SELECT d.id, d.campaign_id, d.customer_id, d.channel, d.variant, d.feedback, c.email, c.phone
		FROM deliveries d JOIN customers c ON c.id = d.customer_id `
	var (
		row matchedRow
		err error
	)
	switch {
	case f.DeliveryID != 0:
		err = tx.GetContext(ctx, &row, tx.Rebind(cols+`WHERE d.id = ?`), f.DeliveryID)
	case f.ProviderMessageID != "":
		err = tx.GetContext(ctx, &row, tx.Rebind(cols+`WHERE d.provider_id = ? AND d.provider_id <> ''
			ORDER BY d.id DESC LIMIT 1`), f.ProviderMessageID)
	default:
		return nil, nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("match delivery: %w", err)
	}
	if row.Channel != f.Channel {
		return nil, nil // an SMS receipt cannot be about an email
	}
	return &row, nil
}

// markDelivery writes the report on the row unless the row already shows a
// stronger one.
func markDelivery(ctx context.Context, tx *sqlx.Tx, row *matchedRow, f *Feedback) error {
	if f.Type.rank() < row.Feedback.rank() {
		return nil
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE deliveries SET feedback = ?, feedback_provider = ?,
		feedback_text = ?, feedback_at = ? WHERE id = ?`), f.Type, f.Provider, f.Diagnostic, f.OccurredAt, row.ID)
	if err != nil {
		return fmt.Errorf("mark delivery %d: %w", row.ID, err)
	}
	return nil
}

// suppressFor applies the suppression policy to the report's address and
// reports whether it suppressed it.
func (s *Store) suppressFor(ctx context.Context, tx *sqlx.Tx, f *Feedback, address, hash string, row *matchedRow, pol FeedbackPolicy) (bool, error) {
	var reason SuppressionReason
	switch {
	case f.Type == FeedbackComplaint:
		reason = SuppressComplaint
	case f.Type == FeedbackHardBounce, f.Type == FeedbackUndelivered && f.Permanent:
		reason = SuppressHardBounce
	case f.Type == FeedbackSoftBounce, f.Type == FeedbackUndelivered:
		var n int
		err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT count(*) FROM delivery_feedback WHERE channel = ?
			AND address_hash = ? AND type IN ('soft_bounce', 'undelivered') AND occurred_at > ? AND occurred_at <= ?`),
			f.Channel, hash, f.OccurredAt.Add(-pol.SoftBounceWindow), f.OccurredAt)
		if err != nil {
			return false, fmt.Errorf("count soft bounces: %w", err)
		}
		if n < pol.SoftBounceLimit {
			return false, nil
		}
		reason = SuppressHardBounce
	default:
		return false, nil
	}
	var cust int64
	if row != nil {
		cust = row.CustomerID
	}
	if err := s.suppress(ctx, tx, f.Channel, address, reason, cust); err != nil {
		return false, err
	}
	return true, nil
}

// The events-log types of feedback: journeys wait for them (wait_for:
// email_bounced) and rules count them.
const (
	EventEmailBounced    = "email_bounced"
	EventEmailComplained = "email_complained"
	EventSMSUndelivered  = "sms_undelivered"
)

// feedbackEvent appends the report to the customer's events log and wakes
// the journeys waiting for it; a delivery receipt writes none (one per
// message would double the log for nothing a journey waits for).
func feedbackEvent(ctx context.Context, tx *sqlx.Tx, f *Feedback, row *matchedRow, now time.Time) (string, error) {
	props := map[string]any{"delivery_id": row.ID, "campaign": row.CampaignID, "provider": f.Provider,
		"channel": string(f.Channel)}
	if row.Variant != "" {
		props["variant"] = row.Variant
	}
	var typ string
	switch {
	case f.Type == FeedbackDelivered:
		return "", nil
	case f.Type == FeedbackComplaint:
		typ = EventEmailComplained
	case f.Channel == channels.SMS:
		typ = EventSMSUndelivered
		props["permanent"] = f.Permanent || f.Type == FeedbackHardBounce
	case f.Type == FeedbackHardBounce, f.Type == FeedbackSoftBounce:
		typ = EventEmailBounced
		props["bounce"] = map[FeedbackType]string{FeedbackHardBounce: "hard", FeedbackSoftBounce: "soft"}[f.Type]
	default:
		return "", nil
	}
	body, err := json.Marshal(props)
	if err != nil {
		return "", err
	}
	in := &EventInput{Type: typ, OccurredAt: f.OccurredAt, Properties: body}
	eventID := "feedback:" + f.Provider + ":" + f.EventID
	if err := insertEventRows(ctx, tx, []eventRow{{eventID: eventID, customerID: row.CustomerID, receivedAt: now, in: in}}); err != nil {
		return "", err
	}
	if _, err := wakeJourneysTx(ctx, tx, row.CustomerID, typ, f.OccurredAt, body); err != nil {
		return "", fmt.Errorf("wake journeys on %s: %w", typ, err)
	}
	return typ, nil
}

// addressPattern finds email addresses in a provider's text.
var addressPattern = regexp.MustCompile(`[^\s<>()\[\]"',;:]+@[^\s<>()\[\]"',;:]+`)

// maskAddresses hides the addresses a bounce text quotes ("550 5.1.1
// <ann@example.com>: user unknown"): the text is kept for the operator,
// the address is personal data the row does not need.
func maskAddresses(text string) string {
	return addressPattern.ReplaceAllString(text, "<address>")
}
