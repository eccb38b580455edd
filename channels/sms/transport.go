// Package sms holds the SMS channels: a Twilio-compatible REST adapter and a
// generic JSON-over-HTTP adapter, plus Segments, which counts the SMS
// segments a text costs. Both adapters classify provider answers into the
// channels error model and hold back every send while a provider-wide
// Retry-After (from a 429 or 503) is running.
package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/tidings-crm/tidings/channels"
)

// e164 matches an E.164 phone number.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// phoneLike matches phone-number-looking text in provider messages.
var phoneLike = regexp.MustCompile(`\+?[0-9][0-9 ().-]{5,}[0-9]`)

// redactPhones replaces phone numbers in provider text by their tags.
func redactPhones(s string) string {
	return phoneLike.ReplaceAllStringFunc(s, func(p string) string { return "[" + channels.Redact(p) + "]" })
}

// checkNumber rejects a recipient that is not E.164 before any request.
func checkNumber(to string) error {
	if !e164.MatchString(to) {
		return channels.Permanent("invalid_number",
			fmt.Errorf("sms: recipient %s is not an E.164 number", channels.Redact(to)))
	}
	return nil
}

// response is a provider's HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// transport sends HTTP requests for an adapter: per-request timeout,
// cancellation vs timeout vs ambiguity, and the provider-wide backoff gate.
type transport struct {
	client  *http.Client
	timeout time.Duration
	log     *slog.Logger

	mu        sync.Mutex
	holdUntil time.Time // no request before this instant (Retry-After)
}

func newTransport(client *http.Client, timeout time.Duration, log *slog.Logger) *transport {
	if client == nil {
		client = &http.Client{}
	}
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &transport{client: client, timeout: timeout, log: log.With("channel", channels.SMS)}
}

// held returns a transient error while a provider Retry-After is running.
func (t *transport) held() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if wait := time.Until(t.holdUntil); wait > 0 {
		return &channels.SendError{Code: "429", RetryAfter: wait,
			Err: errors.New("sms: provider asked to wait (Retry-After)")}
	}
	return nil
}

// hold blocks every request until now+d.
func (t *transport) hold(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if until := time.Now().Add(d); until.After(t.holdUntil) {
		t.holdUntil = until
	}
}

// do sends the request built by newReq. It returns the response, or an
// error that wraps ctx.Err() when the caller's context ended, or a
// transient SendError for timeouts and connection failures (Ambiguous when
// the request had been written in full).
func (t *transport) do(ctx context.Context, newReq func(context.Context) (*http.Request, error)) (response, error) {
	if err := ctx.Err(); err != nil {
		return response{}, fmt.Errorf("sms: send: %w", err)
	}
	if err := t.held(); err != nil {
		return response{}, err
	}
	rctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var written bool
	var wmu sync.Mutex
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		wmu.Lock()
		written = info.Err == nil
		wmu.Unlock()
	}}
	req, err := newReq(httptrace.WithClientTrace(rctx, trace))
	if err != nil {
		return response{}, channels.Permanent("invalid_request", fmt.Errorf("sms: build request: %w", err))
	}
	resp, err := t.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}
	if err != nil {
		wmu.Lock()
		sent := written
		wmu.Unlock()
		return response{}, t.failure(ctx, err, sent)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// failure classifies a request that got no complete answer.
func (t *transport) failure(ctx context.Context, err error, sent bool) error {
	if ctx.Err() != nil {
		if sent {
			return &channels.SendError{Ambiguous: true, Code: "canceled",
				Err: fmt.Errorf("sms: send interrupted after the request was sent: %w", ctx.Err())}
		}
		return fmt.Errorf("sms: send: %w", ctx.Err())
	}
	code := "connection"
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		code = "timeout"
	}
	// %v, not %w: our own timeout must not look like the caller's deadline.
	return &channels.SendError{Code: code, Ambiguous: sent, Err: fmt.Errorf("sms: send: %v", err)}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// classifyStatus maps a non-2xx status to a SendError: 429, 408 and 5xx
// are transient (honouring Retry-After, which also holds back every other
// send), 401/403/404 are transient configuration problems (credentials,
// account or URL: never the recipient's fault), other 4xx are permanent.
func (t *transport) classifyStatus(r response, code, detail string) *channels.SendError {
	se := &channels.SendError{Code: code}
	if se.Code == "" {
		se.Code = strconv.Itoa(r.status)
	}
	se.Err = fmt.Errorf("sms: provider answered %d: %s", r.status, redactPhones(detail))
	switch {
	case r.status == http.StatusTooManyRequests || r.status >= 500:
		se.RetryAfter = retryAfter(r.header, time.Now())
		if se.RetryAfter > 0 {
			t.hold(se.RetryAfter)
		}
	case r.status == http.StatusRequestTimeout, r.status == http.StatusUnauthorized,
		r.status == http.StatusForbidden, r.status == http.StatusNotFound:
	default:
		se.Permanent = true
	}
	return se
}
