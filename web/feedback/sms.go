package feedback

import (
	"crypto/hmac"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/web/unsubscribe"
)

// twilioDeadNumber are Twilio's error codes of a number that cannot receive
// SMS: 30003 unreachable handset, 30005 unknown number, 30006 landline or
// unreachable carrier. An undelivered message with one suppresses the number.
var twilioDeadNumber = map[string]bool{"30003": true, "30005": true, "30006": true}

// twilio records a status callback: delivered, or undelivered/failed with
// Twilio's error code. Intermediate statuses (queued, sent) are ignored.
// Twilio's signature has no timestamp: a replayed callback carries the same
// MessageSid and status, which the store records once.
func (h *handler) twilio(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, "unreadable form body")
		return
	}
	want := unsubscribe.TwilioSignature(h.opts.TwilioAuthToken, h.requestURL(r), form)
	if got := r.Header.Get("X-Twilio-Signature"); got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		h.opts.Logger.Warn("Twilio status callback refused", "provider", "twilio", "err", "bad X-Twilio-Signature")
		writeError(w, http.StatusForbidden, "missing or invalid X-Twilio-Signature")
		return
	}
	sid, status := form.Get("MessageSid"), form.Get("MessageStatus")
	if sid == "" || status == "" {
		writeError(w, http.StatusBadRequest, "MessageSid and MessageStatus are required")
		return
	}
	f := store.Feedback{Provider: "twilio", EventID: sid + ":" + status, Channel: channels.SMS, ProviderMessageID: sid,
		Address: form.Get("To")}
	switch status {
	case "delivered":
		f.Type = store.FeedbackDelivered
	case "undelivered", "failed":
		code := form.Get("ErrorCode")
		f.Type, f.Permanent, f.Diagnostic = store.FeedbackUndelivered, twilioDeadNumber[code], strings.TrimSpace(status+" "+code)
	default:
		h.record(w, r, "twilio", nil, 1)
		return
	}
	h.record(w, r, "twilio", []store.Feedback{f}, 0)
}

// requestURL is the URL Twilio signed: the public base URL and the path.
func (h *handler) requestURL(r *http.Request) string {
	base := strings.TrimRight(h.opts.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + r.URL.RequestURI()
}

// smsReceipt is the generic provider's delivery receipt.
type smsReceipt struct {
	ID        string `json:"id"`     // the provider's message id, as its send answered
	Status    string `json:"status"` // delivered, undelivered or failed
	Error     string `json:"error"`  // the carrier's or provider's reason
	Permanent bool   `json:"permanent"`
	To        string `json:"to"`
	At        string `json:"at"` // RFC 3339; empty: now
}

func newSMSVerifier(secrets string, now func() time.Time) (*triggers.Verifier, error) {
	v, err := triggers.NewVerifier(secrets)
	if err != nil {
		return nil, err
	}
	v.Now = now
	return v, nil
}

// sms records the generic provider's receipt, signed with Standard Webhooks
// headers (webhook-id, webhook-timestamp, webhook-signature): a stale or
// forged one is 401; webhook-id is the event id, so a replay is recorded once.
func (h *handler) sms(v *triggers.Verifier) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		id := r.Header.Get(triggers.HeaderID)
		if err := v.Verify(id, r.Header.Get(triggers.HeaderTimestamp), r.Header.Get(triggers.HeaderSignature), body); err != nil {
			h.opts.Logger.Warn("SMS receipt refused", "provider", "sms", "err", err)
			writeError(w, http.StatusUnauthorized, err.Error())
			return
		}
		var rc smsReceipt
		if err := json.Unmarshal(body, &rc); err != nil || rc.ID == "" {
			writeError(w, http.StatusBadRequest, `body must be {"id": "<message id>", "status": "delivered|undelivered|failed", ...}`)
			return
		}
		f := store.Feedback{Provider: "sms", EventID: id, Channel: channels.SMS, ProviderMessageID: rc.ID, Address: rc.To,
			Permanent: rc.Permanent, Diagnostic: rc.Error}
		f.OccurredAt, _ = time.Parse(time.RFC3339Nano, rc.At)
		switch rc.Status {
		case "delivered":
			f.Type = store.FeedbackDelivered
		case "undelivered", "failed":
			f.Type = store.FeedbackUndelivered
		default:
			writeError(w, http.StatusBadRequest, "status must be delivered, undelivered or failed, got "+rc.Status)
			return
		}
		h.record(w, r, "sms", []store.Feedback{f}, 0)
	}
}
