// Package feedback receives what providers report after a send: bounces,
// complaints and delivery receipts from Amazon SES (through SNS), SendGrid,
// Postmark and Mailgun, and SMS status callbacks from Twilio and the
// generic provider. Each receiver checks the provider's signature (a forged
// callback gets 401 or 403 and changes nothing), turns the report into
// store.Feedback and records it with Store.RecordFeedback, which keeps it
// once per provider event (a replayed callback changes nothing either) and
// applies the suppression and pause policy. It answers 2xx only once the
// report is committed, so a provider retries what failed.
//
// The routes, each served only when its credential is configured:
//
//	POST /v1/feedback/ses        SNS notifications of SES bounces, complaints and deliveries
//	POST /v1/feedback/sendgrid   SendGrid's signed Event Webhook
//	POST /v1/feedback/postmark   Postmark's bounce, spam complaint and delivery webhooks (basic auth)
//	POST /v1/feedback/mailgun    Mailgun's signed webhooks (failed, complained, delivered)
//	POST /v1/feedback/twilio     Twilio's SMS status callbacks (X-Twilio-Signature)
//	POST /v1/feedback/sms        the generic SMS provider's signed receipts (Standard Webhooks)
//
// Mailbox reads the bounce mail that relays send to the return path (an
// IMAP folder), parsed by channels/email/bounce, into the same reports.
package feedback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/store"
)

// Recorder records one report; *store.Store is one.
type Recorder interface {
	RecordFeedback(ctx context.Context, f store.Feedback) (store.FeedbackResult, error)
}

var _ Recorder = (*store.Store)(nil)

// Options configures Handler. Store is required; each provider's route is
// served only when its credential is set.
type Options struct {
	Store  Recorder
	Logger *slog.Logger

	// SES receives SNS notifications; its zero value turns the route off.
	SES SESOptions
	// SendGridKey is the Event Webhook's verification key: the base64 of an
	// ECDSA public key, as SendGrid's settings page shows it.
	SendGridKey string
	// PostmarkUser and PostmarkPassword are the basic-auth credentials put
	// in the webhook URL configured at Postmark (https://user:pass@...).
	PostmarkUser, PostmarkPassword string
	// MailgunKey is Mailgun's HTTP webhook signing key.
	MailgunKey string
	// TwilioAuthToken checks Twilio's status callbacks; PublicURL is the base
	// URL Twilio calls (its signature covers the full URL).
	TwilioAuthToken string
	PublicURL       string
	// SMSSecret, one or more space-separated "whsec_..." secrets, checks the
	// generic SMS provider's receipts (Standard Webhooks headers).
	SMSSecret string
	// VERP parses the return path Tidings sets on each email back to its
	// delivery; nil when no return path is configured.
	VERP *email.VERP

	// Now is the clock of replay windows (default time.Now).
	Now func() time.Time
}

// maxBody bounds a callback body: SendGrid batches up to a few thousand
// events, a few MB at most.
const maxBody = 8 << 20

// Handler returns the receivers configured in opts, and the routes served.
func Handler(opts Options) (http.Handler, []string, error) {
	if opts.Store == nil {
		return nil, nil, errors.New("feedback: a Store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &handler{opts: opts, seen: newReplayMemory()}
	mux := http.NewServeMux()
	var routes []string
	add := func(path string, fn http.HandlerFunc) {
		mux.HandleFunc("POST "+path, fn)
		routes = append(routes, path)
	}
	if opts.SES.Enabled {
		s, err := newSNS(opts.SES, opts.Now)
		if err != nil {
			return nil, nil, err
		}
		add(PathSES, h.ses(s))
	}
	if opts.SendGridKey != "" {
		key, err := parseSendGridKey(opts.SendGridKey)
		if err != nil {
			return nil, nil, err
		}
		add(PathSendGrid, h.sendgrid(key))
	}
	if opts.PostmarkUser != "" || opts.PostmarkPassword != "" {
		if opts.PostmarkUser == "" || opts.PostmarkPassword == "" {
			return nil, nil, errors.New("feedback: Postmark needs both a user and a password for basic auth")
		}
		add(PathPostmark, h.postmark)
	}
	if opts.MailgunKey != "" {
		add(PathMailgun, h.mailgun)
	}
	if opts.TwilioAuthToken != "" {
		add(PathTwilio, h.twilio)
	}
	if opts.SMSSecret != "" {
		v, err := newSMSVerifier(opts.SMSSecret, opts.Now)
		if err != nil {
			return nil, nil, err
		}
		add(PathSMS, h.sms(v))
	}
	return mux, routes, nil
}

// The routes of the receivers.
const (
	PathSES      = "/v1/feedback/ses"
	PathSendGrid = "/v1/feedback/sendgrid"
	PathPostmark = "/v1/feedback/postmark"
	PathMailgun  = "/v1/feedback/mailgun"
	PathTwilio   = "/v1/feedback/twilio"
	PathSMS      = "/v1/feedback/sms"
)

type handler struct {
	opts Options
	seen *replayMemory
}

// readBody reads the raw body, answering 400 or 413 itself when it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body larger than 8 MB")
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "unreadable body")
		return nil, false
	}
	return body, true
}

// outcome counts what a callback's reports did.
type outcome struct {
	Recorded   int `json:"recorded"`
	Duplicates int `json:"duplicates"`
	Ignored    int `json:"ignored"` // events of a kind Tidings does not track (opens, deferrals...)
}

// record stores each report; a failure answers 500 so the provider retries
// the callback (the reports already stored are then duplicates).
func (h *handler) record(w http.ResponseWriter, r *http.Request, provider string, reports []store.Feedback, ignored int) {
	out := outcome{Ignored: ignored}
	for _, f := range reports {
		res, err := h.opts.Store.RecordFeedback(r.Context(), f)
		if errors.Is(err, store.ErrBadFeedback) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err != nil {
			h.opts.Logger.Error("feedback not recorded", "provider", provider, "err", err)
			writeError(w, http.StatusInternalServerError, "could not record the report; retry")
			return
		}
		if res.Duplicate {
			out.Duplicates++
			continue
		}
		out.Recorded++
		if res.Paused != "" {
			h.opts.Logger.Warn("campaign paused by the safety", "campaign", res.CampaignID, "reason", res.Paused)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": "feedback: " + msg})
}

// match fills the delivery of f from a Message-ID Tidings wrote
// (tidings.<id>@domain) or a return path it set (VERP); otherwise the
// Message-ID is matched against the provider id recorded at send.
func (h *handler) match(f *store.Feedback, messageID, returnPath string) {
	matchDelivery(f, h.opts.VERP, messageID, returnPath)
}

// matchDelivery is match with the VERP scheme v (nil: none) and any number
// of addresses the return path may be among (a bounce's To and the
// original's Return-Path).
func matchDelivery(f *store.Feedback, v *email.VERP, messageID string, returnPaths ...string) {
	messageID = strings.Trim(strings.TrimSpace(messageID), "<>")
	if id, ok := email.ParseMessageID(messageID); ok {
		f.DeliveryID = id
		return
	}
	if v != nil {
		for _, rp := range returnPaths {
			if id, ok := v.Parse(rp); ok && rp != "" {
				f.DeliveryID = id
				return
			}
		}
	}
	f.ProviderMessageID = messageID
}

// unixTime reads seconds since 1970, with or without a fraction.
func unixTime(s string) (time.Time, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is not seconds since 1970", s)
	}
	sec := int64(v)
	return time.Unix(sec, int64((v-float64(sec))*1e9)).UTC(), nil
}

// replayMemory remembers accepted one-time values (Mailgun tokens) until
// they fall out of their window.
type replayMemory struct {
	mu  sync.Mutex
	ids map[string]time.Time
}

func newReplayMemory() *replayMemory { return &replayMemory{ids: map[string]time.Time{}} }

// maxRemembered bounds the memory; past it, expired ids are dropped first.
const maxRemembered = 200_000

// reserve records id until until and reports whether it was new.
func (m *replayMemory) reserve(id string, now, until time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.ids[id]; ok && now.Before(exp) {
		return false
	}
	if len(m.ids) >= maxRemembered {
		for k, exp := range m.ids {
			if !now.Before(exp) {
				delete(m.ids, k)
			}
		}
	}
	m.ids[id] = until
	return true
}

// release forgets id: its request was not recorded, and the provider's
// retry must not be taken for a replay.
func (m *replayMemory) release(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.ids, id)
}
