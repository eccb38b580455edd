// Package channels holds the delivery side of Tidings: the Channel interface
// every adapter implements, the Message it delivers, the errors callers branch
// on (permanent vs transient, hard bounce, retry-after), and the wrappers that
// protect a provider (rate limiter, circuit breaker).
//
// The adapters themselves live in subpackages: channels/email (SMTP through
// go-mail), channels/sms (Twilio-compatible and generic JSON HTTP providers)
// and channels/outbox (files on disk, for development).
package channels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Name names a delivery channel, as campaign files, the ledger, consent and
// suppressions spell it. It lives here, the lowest package that sends, so
// campaigns, the worker and the adapters share one type instead of strings.
type Name string

// The channels Tidings delivers through.
const (
	// Email is delivered over SMTP.
	Email Name = "email"
	// SMS is delivered through an SMS provider.
	SMS Name = "sms"
	// Webhook is posted as JSON to a URL of an allowed host (channels/webhook).
	Webhook Name = "webhook"
)

// Message is one rendered message for one recipient. The delivery worker
// builds it from the ledger row and the campaign templates; an adapter sends it
// as is and never changes it.
type Message struct {
	// DeliveryID is the ledger row id. Adapters derive idempotency material
	// from it (the email Message-ID, the SMS provider reference), so a retry of
	// the same delivery is recognisable downstream.
	DeliveryID int64
	Campaign   string
	Variant    string
	// To is an email address for email channels or an E.164 phone number
	// (+14155550123) for SMS channels.
	To      string
	Subject string
	Text    string
	HTML    string
	Locale  string
	// FromName is the sender's display name for email, rendered from the
	// campaign's from_name (its locale and variant); empty keeps the name
	// the channel is configured with. The sender address is always the
	// channel's own: a campaign names itself, it does not pick a mailbox.
	FromName string
	// UnsubscribeURL is the https one-click unsubscribe link (RFC 8058).
	UnsubscribeURL string
	// UnsubscribeMailto is an optional mailto: unsubscribe address.
	UnsubscribeMailto string
}

// Result is what a provider told us about an accepted message.
type Result struct {
	// ProviderID identifies the message at the provider: the email
	// Message-ID, or the SMS provider's message id.
	ProviderID string
	// Segments is the number of SMS segments billed (0 for email).
	Segments int
}

// Channel delivers one message through one provider. Implementations are safe
// for concurrent use. Send returns a *SendError (or an error wrapping one) when
// the provider refused or could not be reached, and an error satisfying
// errors.Is(err, context.Canceled) or context.DeadlineExceeded when ctx ended
// first.
type Channel interface {
	// Name identifies the channel in logs and metrics: Email or SMS.
	Name() Name
	// Send delivers m once.
	Send(ctx context.Context, m *Message) (Result, error)
}

// Redact returns a short, stable, non-reversible tag for an email address or
// phone number, for logs: the first 12 hex digits of the SHA-256 of the
// normalised (trimmed, lower-cased) address. Never log an address in clear.
func Redact(addr string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(addr))))
	return hex.EncodeToString(sum[:6])
}
