package unsubscribe

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Twilio's request signature is defined as HMAC-SHA1
	"encoding/base64"
	"encoding/xml"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// Keyword is what an inbound SMS asks for.
type Keyword int

// The inbound SMS intents.
const (
	KeywordNone  Keyword = iota // an ordinary message: no action, no reply
	KeywordStop                 // opt out of SMS
	KeywordStart                // opt back in
	KeywordHelp                 // ask who is sending and how to get help
)

// keywords are the whole-message commands, upper-cased with inner spaces
// collapsed: the carrier (CTIA) and Twilio opt-out words, the FCC's
// revocation words, and the French ARRET.
var keywords = map[string]Keyword{
	"STOP": KeywordStop, "STOPALL": KeywordStop, "STOP ALL": KeywordStop, "UNSUBSCRIBE": KeywordStop,
	"CANCEL": KeywordStop, "END": KeywordStop, "QUIT": KeywordStop, "REVOKE": KeywordStop,
	"OPTOUT": KeywordStop, "OPT OUT": KeywordStop, "OPT-OUT": KeywordStop, "ARRET": KeywordStop, "ARRÊT": KeywordStop,
	"START": KeywordStart, "UNSTOP": KeywordStart, "YES": KeywordStart,
	"HELP": KeywordHelp, "INFO": KeywordHelp,
}

// ParseKeyword classifies an inbound message body: case-insensitive, with
// surrounding whitespace, punctuation and symbols ignored ("stop ", "Stop."
// and "STOP!" all mean STOP). Only a message that is the keyword counts.
func ParseKeyword(body string) Keyword {
	s := strings.TrimFunc(body, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
	})
	if len(s) > 32 {
		return KeywordNone
	}
	return keywords[strings.ToUpper(strings.Join(strings.Fields(s), " "))]
}

// smsInbound handles one inbound message from the provider and answers
// TwiML: at most one <Message>, and none for ordinary texts. It is served
// only with a credential, and a request that fails it changes nothing
// (inbound.go).
func (h *handler) smsInbound(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "unsubscribe: unreadable body", http.StatusBadRequest)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "unsubscribe: unreadable form body", http.StatusBadRequest)
		return
	}
	id, status, err := h.inbound.check(r, body, form)
	if err != nil {
		h.log.WarnContext(r.Context(), "sms inbound: refused", "reason", err.Error(), "provider_id", form.Get("MessageSid"))
		http.Error(w, "unsubscribe: inbound SMS refused: "+err.Error(), status)
		return
	}
	from := strings.TrimSpace(form.Get("From"))
	if from == "" {
		h.inbound.seen.release(id)
		http.Error(w, "unsubscribe: inbound SMS without From: post the form fields From (the sender, +33612345678) and Body, "+
			"as application/x-www-form-urlencoded (docs/operations.md#inbound-sms)", http.StatusBadRequest)
		return
	}
	kw := ParseKeyword(form.Get("Body"))
	if kw == KeywordNone && h.opts.Surveys != nil {
		reply, err := h.surveyReply(r.Context(), from, form.Get("Body"))
		if err != nil {
			h.inbound.seen.release(id)
			h.log.ErrorContext(r.Context(), "sms inbound: survey answer failed", "address", channels.Redact(from),
				"provider_id", form.Get("MessageSid"), "err", err)
			http.Error(w, "unsubscribe: could not record the answer", http.StatusInternalServerError)
			return
		}
		writeTwiML(w, reply)
		return
	}
	reply, err := h.applyKeyword(r.Context(), kw, from)
	if err != nil {
		h.inbound.seen.release(id)
		h.log.ErrorContext(r.Context(), "sms inbound: failed", "keyword", kw.String(),
			"address", channels.Redact(from), "provider_id", form.Get("MessageSid"), "err", err)
		http.Error(w, "unsubscribe: could not record the request", http.StatusInternalServerError)
		return
	}
	if h.opts.ProviderConfirms {
		reply = ""
	}
	writeTwiML(w, reply)
}

// surveyReply hands a message that is no keyword to the survey replies:
// a score answers the survey last sent to the number. The thanks is not
// sent to a number that opted out.
func (h *handler) surveyReply(ctx context.Context, from, body string) (string, error) {
	custs, err := h.opts.Store.CustomersByPhone(ctx, from)
	if err != nil || len(custs) == 0 {
		return "", err
	}
	reply, handled, err := h.opts.Surveys.Reply(ctx, custs, body)
	if err != nil || !handled || reply == "" {
		return "", err
	}
	if stopped, err := h.opts.Store.IsSuppressed(ctx, channels.SMS, from); err != nil || stopped {
		return "", err
	}
	return reply, nil
}

// applyKeyword records what kw asks for and returns the reply ("" for none).
func (h *handler) applyKeyword(ctx context.Context, kw Keyword, from string) (string, error) {
	switch kw {
	case KeywordStop:
		return h.stop(ctx, from)
	case KeywordStart:
		return h.start(ctx, from)
	case KeywordHelp:
		return h.helpReply(), nil
	}
	return "", nil
}

// stop suppresses the number, whoever it belongs to, and clears the SMS
// consent of every customer with it. Only the first STOP is confirmed.
func (h *handler) stop(ctx context.Context, from string) (string, error) {
	already, err := h.opts.Store.IsSuppressed(ctx, channels.SMS, from)
	if err != nil {
		return "", err
	}
	custs, err := h.opts.Store.CustomersByPhone(ctx, from)
	if err != nil {
		return "", err
	}
	var owner int64
	if len(custs) > 0 {
		owner = custs[0].ID
	}
	if err := h.opts.Store.Suppress(ctx, channels.SMS, from, store.SuppressStop, owner); err != nil {
		return "", err
	}
	if err := h.setConsent(ctx, custs, false, store.ConsentSMSStop); err != nil {
		return "", err
	}
	h.log.InfoContext(ctx, "sms inbound: opted out", "address", channels.Redact(from),
		"customers", len(custs), "repeat", already)
	if already {
		return "", nil
	}
	if h.opts.StopReply != "" {
		return h.opts.StopReply, nil
	}
	return h.opts.Brand + ": you are unsubscribed and will receive no more messages. Reply START to resubscribe.", nil
}

// start lifts the number's suppression and restores SMS consent.
func (h *handler) start(ctx context.Context, from string) (string, error) {
	custs, err := h.opts.Store.CustomersByPhone(ctx, from)
	if err != nil {
		return "", err
	}
	was, err := h.opts.Store.Unsuppress(ctx, channels.SMS, from)
	if err != nil {
		return "", err
	}
	if err := h.setConsent(ctx, custs, true, store.ConsentSMSStart); err != nil {
		return "", err
	}
	h.log.InfoContext(ctx, "sms inbound: opted in", "address", channels.Redact(from),
		"customers", len(custs), "was_suppressed", was)
	if h.opts.StartReply != "" {
		return h.opts.StartReply, nil
	}
	return h.opts.Brand + ": you are subscribed to messages again. Reply STOP to unsubscribe, HELP for help.", nil
}

func (h *handler) setConsent(ctx context.Context, custs []*store.Customer, ok bool, source string) error {
	for _, c := range custs {
		if err := h.opts.Store.SetConsent(ctx, c.ID, channels.SMS, ok, source); err != nil {
			return err
		}
	}
	return nil
}

func (h *handler) helpReply() string {
	if h.opts.HelpReply != "" {
		return h.opts.HelpReply
	}
	msg := h.opts.Brand + " marketing messages."
	if h.opts.Contact != "" {
		msg += " Help: " + h.opts.Contact + "."
	}
	return msg + " Reply STOP to unsubscribe. Msg & data rates may apply."
}

// requestURL is the URL the provider signed: the public root (or the
// request's own scheme and host) plus the path and query.
func (h *handler) requestURL(r *http.Request) string {
	base := h.opts.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + r.URL.RequestURI()
}

// TwilioSignature computes Twilio's X-Twilio-Signature for a form POST to
// fullURL: base64(HMAC-SHA1(authToken, fullURL + each parameter's name and
// value, sorted by name)). Providers and tests use it to sign requests.
func TwilioSignature(authToken, fullURL string, form url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range slices.Sorted(maps.Keys(form)) {
		vals := slices.Clone(form[k])
		slices.Sort(vals)
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// writeTwiML answers with a TwiML document holding msg, or no message.
func writeTwiML(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Response>`)
	if msg != "" {
		b.WriteString("<Message>")
		_ = xml.EscapeText(&b, []byte(msg))
		b.WriteString("</Message>")
	}
	b.WriteString("</Response>")
	_, _ = w.Write([]byte(b.String()))
}

// String names the keyword for logs.
func (k Keyword) String() string {
	switch k {
	case KeywordStop:
		return "stop"
	case KeywordStart:
		return "start"
	case KeywordHelp:
		return "help"
	}
	return "none"
}
