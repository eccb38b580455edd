package feedback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// mailgunWebhook is the body of a Mailgun webhook (the JSON format).
type mailgunWebhook struct {
	Signature struct {
		Timestamp string `json:"timestamp"`
		Token     string `json:"token"`
		Signature string `json:"signature"`
	} `json:"signature"`
	EventData struct {
		Event          string                  `json:"event"`
		ID             string                  `json:"id"`
		Severity       string                  `json:"severity"`
		Timestamp      json.Number             `json:"timestamp"`
		Recipient      string                  `json:"recipient"`
		Reason         string                  `json:"reason"`
		Envelope       struct{ Sender string } `json:"envelope"`
		DeliveryStatus struct {
			Code        json.Number `json:"code"`
			Message     string      `json:"message"`
			Description string      `json:"description"`
		} `json:"delivery-status"`
		Message struct {
			Headers struct {
				MessageID string `json:"message-id"`
			} `json:"headers"`
		} `json:"message"`
	} `json:"event-data"`
}

// mailgun checks the HMAC of timestamp+token under the signing key, the
// timestamp's age and the token's first use, then records the event.
func (h *handler) mailgun(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var m mailgunWebhook
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		writeError(w, http.StatusBadRequest, "body is not a Mailgun webhook: "+err.Error())
		return
	}
	sig := m.Signature
	if err := h.checkMailgun(sig.Timestamp, sig.Token, sig.Signature); err != nil {
		h.opts.Logger.Warn("Mailgun callback refused", "provider", "mailgun", "err", err)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	now := h.opts.Now()
	if !h.seen.reserve("mailgun:"+sig.Token, now, now.Add(2*signedTolerance)) {
		writeError(w, http.StatusForbidden, "this signed request was already accepted: a replay")
		return
	}
	ev := m.EventData
	f := store.Feedback{Provider: "mailgun", Channel: channels.Email, EventID: ev.ID, Address: ev.Recipient,
		Diagnostic: strings.TrimSpace(fmt.Sprint(ev.DeliveryStatus.Code) + " " + ev.DeliveryStatus.Message + " " +
			ev.DeliveryStatus.Description + " " + ev.Reason)}
	f.OccurredAt, _ = unixTime(ev.Timestamp.String())
	switch {
	case ev.Event == "failed" && ev.Severity == "permanent":
		f.Type = store.FeedbackHardBounce
	case ev.Event == "failed":
		f.Type = store.FeedbackSoftBounce
	case ev.Event == "complained":
		f.Type = store.FeedbackComplaint
	case ev.Event == "delivered":
		f.Type = store.FeedbackDelivered
	default: // accepted, opened, clicked, unsubscribed...
		h.record(w, r, "mailgun", nil, 1)
		return
	}
	h.match(&f, ev.Message.Headers.MessageID, ev.Envelope.Sender)
	h.recordOrRelease(w, r, "mailgun", f, "mailgun:"+sig.Token)
}

// recordOrRelease records one report, forgetting its one-time id when it
// failed so the provider's retry is not refused as a replay.
func (h *handler) recordOrRelease(w http.ResponseWriter, r *http.Request, provider string, f store.Feedback, once string) {
	rw := &statusWriter{ResponseWriter: w}
	h.record(rw, r, provider, []store.Feedback{f}, 0)
	if rw.status >= 300 {
		h.seen.release(once)
	}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// checkMailgun verifies hex(HMAC-SHA256(key, timestamp+token)) and that the
// timestamp is recent.
func (h *handler) checkMailgun(ts, token, sig string) error {
	if ts == "" || token == "" || sig == "" {
		return fmt.Errorf("missing signature.timestamp, token or signature")
	}
	at, err := unixTime(ts)
	if err != nil {
		return err
	}
	if d := h.opts.Now().Sub(at); d > signedTolerance || d < -signedTolerance {
		return fmt.Errorf("signature.timestamp is more than %s off the clock (a replay, or a clock to fix)", signedTolerance)
	}
	m := hmac.New(sha256.New, []byte(h.opts.MailgunKey))
	m.Write([]byte(ts + token))
	if !hmac.Equal([]byte(strings.ToLower(sig)), []byte(hex.EncodeToString(m.Sum(nil)))) {
		return fmt.Errorf("bad signature")
	}
	return nil
}
