package triggers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tidings-crm/tidings/store"
)

// Webhook paths.
const (
	PathEvents        = "/v1/events"
	PathEventsBatch   = "/v1/events/batch"
	PathPurchase      = "/v1/events/purchase"
	PathPurchaseBatch = "/v1/events/purchase/batch"
)

// EventStore persists accepted events: inbox row, customer and purchase in
// one transaction (store.Store implements it).
type EventStore interface {
	AcceptEvents(ctx context.Context, evs []store.InboxEvent) ([]store.Accepted, error)
}

// Reactor enqueues the reaction to a committed event (worker.Enqueuer
// implements it). A failed enqueue loses nothing: the inbox row stays
// "received" and "tidings events replay" processes it.
type Reactor interface {
	EnqueueEvent(ctx context.Context, eventID string) error
}

// WebhookOptions configure the purchase webhook.
type WebhookOptions struct {
	Secrets  string // space-separated "whsec_..." secrets (TIDINGS_WEBHOOK_SECRET)
	Store    EventStore
	Reactor  Reactor // nil: no reactions are enqueued
	Logger   *slog.Logger
	Now      func() time.Time // the clock for timestamp tolerance and received_at
	MaxBody  int64            // bytes for one event (default 64 KiB)
	MaxBatch int64            // bytes for a batch (default 8 MiB)
	// MaxEvents bounds the events of one batch (default 1000).
	MaxEvents int
	Metrics   *WebhookMetrics // nil: not counted
}

// Webhook serves POST /v1/events and /v1/events/batch (any event type), and
// /v1/events/purchase and /v1/events/purchase/batch (purchases in the
// first round's body, stored as purchase events).
type Webhook struct {
	opts     WebhookOptions
	verifier *Verifier
	group    *grouper // single events of concurrent requests, committed together
}

// NewWebhook returns the handler; it fails when no valid secret is given.
func NewWebhook(opts WebhookOptions) (*Webhook, error) {
	v, err := NewVerifier(opts.Secrets)
	if err != nil {
		return nil, err
	}
	if opts.Store == nil {
		return nil, errors.New("triggers: webhook needs a store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 64 << 10
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 8 << 20
	}
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = 1000
	}
	v.Now = opts.Now
	return &Webhook{opts: opts, verifier: v, group: &grouper{store: opts.Store}}, nil
}

// errorBody is every 4xx/5xx answer.
type errorBody struct {
	Error   string `json:"error"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Result is the answer for one accepted event, stored with it and given again
// to duplicates.
type Result struct {
	EventID  string   `json:"event_id"`
	Status   string   `json:"status"` // "accepted"
	OrderID  string   `json:"order_id"`
	Warnings []string `json:"warnings,omitempty"`
}

// ServeHTTP routes the four endpoints.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var batch, anyType bool
	switch r.URL.Path {
	case PathPurchase:
	case PathPurchaseBatch:
		batch = true
	case PathEvents:
		anyType = true
	case PathEventsBatch:
		batch, anyType = true, true
	default:
		h.fail(w, true, &failure{status: http.StatusNotFound, code: "not_found", msg: "no such endpoint: " + r.URL.Path,
			hint: "post events to " + PathEvents + " or " + PathEventsBatch})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, anyType, &failure{status: http.StatusMethodNotAllowed, code: "method_not_allowed", msg: "use POST"})
		return
	}
	body, f := h.authenticate(w, r, batch)
	if f != nil {
		h.opts.Metrics.observe("rejected", 1)
		h.fail(w, anyType, f)
		return
	}
	if anyType {
		h.serveAny(w, r, body, batch)
		return
	}
	evs, err := h.parse(body, batch)
	if err != nil {
		h.opts.Metrics.observe("rejected", 1)
		h.fail(w, false, invalid(err))
		return
	}
	h.accept(w, r, evs, batch)
}

// failure is a request refused: its status, a machine-readable code, what
// is wrong, the field (a JSON path or a header) and what to do instead.
type failure struct {
	status            int
	code, msg         string
	field, hint       string
	retryAfterSeconds int
}

// invalid is the failure of a body that does not parse.
func invalid(err error) *failure {
	f := &failure{status: http.StatusBadRequest, code: "invalid_event", msg: err.Error(),
		hint: "see docs/api.md for the event's fields"}
	var fe *FieldError
	if errors.As(err, &fe) {
		f.field, f.msg = fe.Field, fe.Message
	}
	return f
}

// apiError is every 4xx/5xx answer of /v1/events and /v1/events/batch.
type apiError struct {
	Code  string `json:"code"`
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
	Hint  string `json:"hint,omitempty"`
}

// fail answers f: in apiError's shape on /v1/events, in the first round's
// errorBody on the purchase endpoints (their clients read it).
func (h *Webhook) fail(w http.ResponseWriter, anyType bool, f *failure) {
	if f.retryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfterSeconds))
	}
	if anyType {
		writeJSON(w, f.status, apiError{Code: f.code, Error: f.msg, Field: f.field, Hint: f.hint})
		return
	}
	if f.code != "invalid_event" || f.field == "" {
		writeJSON(w, f.status, errorBody{Error: f.code, Message: f.msg})
		return
	}
	writeJSON(w, f.status, errorBody{Error: f.code, Field: f.field, Message: f.field + ": " + f.msg})
}

// authenticate checks the signature headers, reads the body within the
// limit and verifies the signature on the raw bytes.
func (h *Webhook) authenticate(w http.ResponseWriter, r *http.Request, batch bool) ([]byte, *failure) {
	limit := h.opts.MaxBody
	if batch {
		limit = h.opts.MaxBatch
	}
	body, err := ReadSigned(h.verifier, w, r, limit)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, &failure{status: http.StatusRequestEntityTooLarge, code: "too_large",
			msg:  fmt.Sprintf("body is over the limit of %d bytes", limit),
			hint: "split the events into several batches"}
	case errors.Is(err, ErrUnreadable):
		return nil, &failure{status: http.StatusBadRequest, code: "bad_request", msg: "could not read the body"}
	case err != nil:
		return nil, h.unauthorized(err)
	}
	return body, nil
}

func (h *Webhook) unauthorized(err error) *failure {
	h.opts.Logger.Warn("webhook refused", "reason", err.Error())
	f := &failure{status: http.StatusUnauthorized, code: "unauthorized", msg: err.Error()}
	f.field, f.hint = AuthHint(err)
	return f
}

// parsed is one validated event ready to store.
type parsed struct {
	ev       *PurchaseEvent
	warnings []string
}

func (h *Webhook) parse(body []byte, batch bool) ([]parsed, error) {
	if !batch {
		ev, warn, err := ParsePurchase(body, "")
		if err != nil {
			return nil, err
		}
		return []parsed{{ev, warn}}, nil
	}
	raws, err := h.batchItems(body, "purchase events")
	if err != nil {
		return nil, err
	}
	out := make([]parsed, len(raws))
	for i, raw := range raws {
		ev, warn, err := ParsePurchase(raw, fmt.Sprintf("events[%d].", i))
		if err != nil {
			return nil, err
		}
		out[i] = parsed{ev, warn}
	}
	return out, nil
}

// batchItems reads a batch body, {"events": [...]}, with 1 to MaxEvents
// items; what names them in errors ("purchase events").
func (h *Webhook) batchItems(body []byte, what string) ([]json.RawMessage, error) {
	obj, err := object(body, "body")
	if err != nil {
		return nil, err
	}
	if err := onlyFields(obj, []string{"events"}, ""); err != nil {
		return nil, err
	}
	v, ok := present(obj, "events")
	if !ok {
		return nil, fieldErr("events", "is required (an array of %s)", what)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(v, &raws); err != nil {
		return nil, fieldErr("events", "must be an array of %s", what)
	}
	if len(raws) == 0 || len(raws) > h.opts.MaxEvents {
		return nil, fieldErr("events", "must hold 1 to %d events", h.opts.MaxEvents)
	}
	return raws, nil
}

// accept persists the events, answers, and only then enqueues reactions.
func (h *Webhook) accept(w http.ResponseWriter, r *http.Request, evs []parsed, batch bool) {
	now := h.opts.Now().UTC()
	in := make([]store.InboxEvent, len(evs))
	for i, p := range evs {
		payload, _ := json.Marshal(p.ev)
		res, _ := json.Marshal(Result{EventID: p.ev.EventID, Status: "accepted", OrderID: p.ev.OrderID, Warnings: p.warnings})
		in[i] = store.InboxEvent{EventID: p.ev.EventID, EventType: TypePurchase, ReceivedAt: now, Payload: payload,
			Result: res, Customer: p.ev.Customer.CustomerInput(), Purchase: p.ev.PurchaseInput(),
			Event: &store.EventInput{Type: TypePurchase, OccurredAt: p.ev.OccurredAt, Properties: p.ev.logProperties()}}
	}
	out, f := h.store(r.Context(), in, batch)
	if f != nil {
		h.fail(w, false, f)
		return
	}
	status := http.StatusOK
	for _, a := range out {
		if !a.Duplicate {
			status = http.StatusAccepted
			h.opts.Metrics.observe("accepted", 1)
		} else {
			h.opts.Metrics.observe("duplicate", 1)
		}
	}
	if batch {
		results := make([]json.RawMessage, len(out))
		for i, a := range out {
			results[i] = a.Result
		}
		writeJSON(w, status, map[string]any{"results": results})
	} else {
		writeRaw(w, status, out[0].Result)
	}
	// The answer goes out now; the client need not wait for the enqueues.
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	h.react(r.Context(), out)
}

// store commits in: a batch in its own transaction, a single event in a
// group commit with the concurrent ones.
func (h *Webhook) store(ctx context.Context, in []store.InboxEvent, batch bool) ([]store.Accepted, *failure) {
	var out []store.Accepted
	var err error
	if batch {
		out, err = h.opts.Store.AcceptEvents(ctx, in)
	} else {
		out, err = h.group.accept(ctx, in)
	}
	if err != nil {
		h.opts.Logger.Error("webhook: events not stored", "events", len(in), "err", err)
		h.opts.Metrics.observe("failed", len(in))
		return nil, &failure{status: http.StatusServiceUnavailable, code: "unavailable", retryAfterSeconds: 5,
			msg: "the event could not be stored; retry later", hint: "retry the same request: it is idempotent"}
	}
	return out, nil
}

// react enqueues the reactions of newly stored events, after the commit.
func (h *Webhook) react(ctx context.Context, out []store.Accepted) {
	if h.opts.Reactor == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, a := range out {
		if a.Duplicate {
			continue
		}
		if err := h.opts.Reactor.EnqueueEvent(ctx, a.EventID); err != nil {
			h.opts.Logger.Warn("webhook: reaction not enqueued; events replay will process it",
				"event", a.EventID, "err", err)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":"internal","message":"could not encode the answer"}`)
		status = http.StatusInternalServerError
	}
	writeRaw(w, status, b)
}

// writeRaw answers b and a newline. The length is set: an answer flushed
// before the handler returns (accept) then goes out whole in one write, not
// as chunks with a closing chunk after it.
func writeRaw(w http.ResponseWriter, status int, b []byte) {
	b = bytes.TrimSpace(b)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(b)            //nolint:errcheck // the client went away
	w.Write([]byte("\n")) //nolint:errcheck
}
