package triggers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tidings-crm/tidings/store"
)

// serveAny takes in /v1/events (one event, its id the webhook-id) and
// /v1/events/batch: each event is committed before the answer; a repeat of
// an id with the same event is answered 200 with the first result and
// "duplicate": true, an id reused for another event 409.
func (h *Webhook) serveAny(w http.ResponseWriter, r *http.Request, body []byte, batch bool) {
	now := h.opts.Now().UTC()
	in, err := h.parseAny(body, r.Header.Get(HeaderID), batch, now)
	if err != nil {
		h.opts.Metrics.observe("rejected", 1)
		h.fail(w, true, invalid(err))
		return
	}
	out, f := h.store(r.Context(), in, batch)
	if f != nil {
		h.fail(w, true, f)
		return
	}
	status, results, conflict := h.answers(out, batch)
	switch {
	case !batch && conflict != nil:
		h.fail(w, true, conflict)
	case !batch:
		writeJSON(w, status, results[0])
	case conflict != nil:
		writeJSON(w, status, struct {
			apiError
			Results []EventResult `json:"results"`
		}{apiError{Code: conflict.code, Error: conflict.msg, Field: conflict.field, Hint: conflict.hint}, results})
	default:
		writeJSON(w, status, map[string]any{"results": results})
	}
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	h.react(r.Context(), out)
}

// parseAny reads one event or a batch into the inbox events to store.
func (h *Webhook) parseAny(body []byte, webhookID string, batch bool, now time.Time) ([]store.InboxEvent, error) {
	if !batch {
		ev, err := ParseAnyEvent(body, webhookID, "", false, now)
		if err != nil {
			return nil, err
		}
		in, err := ev.inboxEvent("", now)
		return []store.InboxEvent{in}, err
	}
	raws, err := h.batchItems(body, "events")
	if err != nil {
		return nil, err
	}
	out := make([]store.InboxEvent, len(raws))
	for i, raw := range raws {
		prefix := fmt.Sprintf("events[%d].", i)
		ev, err := ParseAnyEvent(raw, batchID(webhookID, i), prefix, true, now)
		if err != nil {
			return nil, err
		}
		if out[i], err = ev.inboxEvent(prefix, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// answers turns what the store did into the results, the status (202 when
// some event is new, 200 when all were stored before, 409 when an id was
// reused for another event) and the conflict to report, if any.
func (h *Webhook) answers(out []store.Accepted, batch bool) (int, []EventResult, *failure) {
	status := http.StatusOK
	results := make([]EventResult, len(out))
	var conflict *failure
	for i, a := range out {
		var res EventResult
		_ = json.Unmarshal(a.Result, &res)
		res.Duplicate = a.Duplicate
		switch {
		case a.Changed:
			h.opts.Metrics.observe("rejected", 1)
			res.Status, res.Error = "conflict", "this id was used for another event"
			if conflict == nil {
				field := HeaderID
				if batch {
					field = fmt.Sprintf("events[%d].id", i)
				}
				conflict = &failure{status: http.StatusConflict, code: "id_reused", field: field,
					msg:  fmt.Sprintf("event id %q was used for another event", clip(a.EventID)),
					hint: "give each event its own id; to retry, resend the first event unchanged"}
			}
		case a.Duplicate:
			h.opts.Metrics.observe("duplicate", 1)
		default:
			h.opts.Metrics.observe("accepted", 1)
			status = http.StatusAccepted
		}
		results[i] = res
	}
	if conflict != nil {
		status = http.StatusConflict
	}
	return status, results, conflict
}
