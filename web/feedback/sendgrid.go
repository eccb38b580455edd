package feedback

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// SendGrid's Event Webhook signature headers.
const (
	HeaderSendGridSignature = "X-Twilio-Email-Event-Webhook-Signature"
	HeaderSendGridTimestamp = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// signedTolerance is how far a signed callback's timestamp may be from the
// clock (SendGrid, Mailgun): an older copy is a replay.
const signedTolerance = 5 * time.Minute

// parseSendGridKey reads the verification key SendGrid shows: base64 of a
// PKIX ECDSA public key.
func parseSendGridKey(s string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("feedback: SendGrid verification key is not base64: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("feedback: SendGrid verification key: %w", err)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("feedback: SendGrid verification key is not an ECDSA key")
	}
	return k, nil
}

// sendgridEvent is one event of SendGrid's Event Webhook.
type sendgridEvent struct {
	Email       string          `json:"email"`
	Timestamp   int64           `json:"timestamp"`
	SMTPID      string          `json:"smtp-id"`
	Event       string          `json:"event"`
	Type        string          `json:"type"` // bounce or blocked, for a bounce
	EventID     string          `json:"sg_event_id"`
	MessageID   string          `json:"sg_message_id"`
	Reason      string          `json:"reason"`
	Status      string          `json:"status"`
	Response    string          `json:"response"`
	BounceClass json.RawMessage `json:"bounce_classification"`
}

// sendgrid checks the ECDSA signature over timestamp+body and records the
// bounces, spam reports and deliveries of the batch.
func (h *handler) sendgrid(key *ecdsa.PublicKey) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		ts := r.Header.Get(HeaderSendGridTimestamp)
		if err := checkSendGrid(key, r.Header.Get(HeaderSendGridSignature), ts, body, h.opts.Now()); err != nil {
			h.opts.Logger.Warn("SendGrid callback refused", "provider", "sendgrid", "err", err)
			writeError(w, http.StatusUnauthorized, err.Error())
			return
		}
		var evs []sendgridEvent
		if err := json.Unmarshal(body, &evs); err != nil {
			writeError(w, http.StatusBadRequest, "body is not a JSON array of SendGrid events: "+err.Error())
			return
		}
		var reports []store.Feedback
		ignored := 0
		for _, e := range evs {
			f := store.Feedback{Provider: "sendgrid", Channel: channels.Email, EventID: e.EventID, Address: e.Email,
				OccurredAt: time.Unix(e.Timestamp, 0).UTC()}
			switch {
			case e.Event == "bounce" && e.Type == "blocked":
				f.Type = store.FeedbackSoftBounce
			case e.Event == "bounce":
				f.Type = store.FeedbackHardBounce
			case e.Event == "spamreport":
				f.Type = store.FeedbackComplaint
			case e.Event == "delivered":
				f.Type = store.FeedbackDelivered
			default: // processed, deferred, dropped, open, click, unsubscribe...
				ignored++
				continue
			}
			f.Diagnostic = strings.TrimSpace(e.Status + " " + e.Reason + e.Response)
			h.match(&f, e.SMTPID, "")
			if f.DeliveryID == 0 && f.ProviderMessageID == "" {
				f.ProviderMessageID = e.MessageID
			}
			reports = append(reports, f)
		}
		h.record(w, r, "sendgrid", reports, ignored)
	}
}

// checkSendGrid verifies SendGrid's signature: ECDSA (P-256, SHA-256, ASN.1)
// over the timestamp header followed by the raw body, with the timestamp
// within signedTolerance of now.
func checkSendGrid(key *ecdsa.PublicKey, sig, ts string, body []byte, now time.Time) error {
	if sig == "" || ts == "" {
		return fmt.Errorf("missing %s or %s", HeaderSendGridSignature, HeaderSendGridTimestamp)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not seconds since 1970", HeaderSendGridTimestamp, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > signedTolerance || d < -signedTolerance {
		return fmt.Errorf("%s is more than %s off the clock (a replay, or a clock to fix)", HeaderSendGridTimestamp, signedTolerance)
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%s is not base64", HeaderSendGridSignature)
	}
	sum := sha256.Sum256(append([]byte(ts), body...))
	if !ecdsa.VerifyASN1(key, sum[:], raw) {
		return fmt.Errorf("bad %s", HeaderSendGridSignature)
	}
	return nil
}
