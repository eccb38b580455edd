// Package admin serves the admin API: the operator's JSON view of the
// engine (campaigns, runs, pause, reports, the ledger) and the
// data-protection requests (erasure, export, consent). Mount it behind the
// admin token; it holds no state of its own and calls the engine for all.
package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/web/openapi"
	"github.com/tidings-crm/tidings/worker"
)

// api holds what the handlers need: the engine and where to log.
type api struct {
	e   *worker.Engine
	log *slog.Logger
}

// AdminHandler serves the admin API; mount it behind the admin token:
//
//	GET  /v1/campaigns               the loaded campaigns, their state, last run and ledger counts
//	POST /v1/campaigns/{id}/run      fire the current occurrence, or {"occurrence": NAME} (Fire)
//	POST /v1/campaigns/{id}/pause    stop new runs and hold waiting messages
//	POST /v1/campaigns/{id}/resume   undo pause
//	GET  /v1/campaigns/{id}/report   did it work: arms, conversions, lift (Report)
//	GET  /v1/campaigns/{id}/deliveries?customer=&status=&limit=&cursor=
//	                                 the ledger: status, reason, planned time (Deliveries)
//	GET  /v1/customers/{id}          the profile (every column) and the consent history
//	POST /v1/customers/{id}/erase    remove the person's data, keep aggregates (docs/privacy.md)
//	GET  /v1/customers/{id}/export   everything held about the person, one JSON document
//	POST /v1/customers/{id}/consent  {"channel": "email", "granted": false}: an operator's change
func Handler(e *worker.Engine, logger *slog.Logger) openapi.Router {
	h := &api{e: e, log: logger}
	mux := &openapi.Mux{}
	mux.HandleFunc("GET /v1/campaigns", h.list)
	mux.HandleFunc("POST /v1/campaigns/{id}/run", h.run)
	mux.HandleFunc("POST /v1/campaigns/{id}/pause", h.pause(true))
	mux.HandleFunc("POST /v1/campaigns/{id}/resume", h.pause(false))
	mux.HandleFunc("GET /v1/campaigns/{id}/report", h.report)
	mux.HandleFunc("GET /v1/campaigns/{id}/deliveries", h.deliveries)
	mux.HandleFunc("GET /v1/customers/{id}", h.profile)
	mux.HandleFunc("POST /v1/customers/{id}/erase", h.erase)
	mux.HandleFunc("GET /v1/customers/{id}/export", h.export)
	mux.HandleFunc("POST /v1/customers/{id}/consent", h.consent)
	return mux
}

func (h *api) list(w http.ResponseWriter, r *http.Request) {
	out := []worker.CampaignStatus{}
	for _, c := range h.e.Campaigns() {
		cs, err := h.e.Status(r.Context(), c.ID)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
			return
		}
		out = append(out, cs)
	}
	writeJSON(w, http.StatusOK, out)
}

// noCampaign answers 404 for a campaign id that is not loaded.
func (h *api) noCampaign(w http.ResponseWriter, id string) {
	writeJSON(w, http.StatusNotFound, map[string]string{"error": h.e.UnknownCampaign(id),
		"hint": "GET /v1/campaigns lists the loaded campaigns"})
}

// runRequest is the optional body of POST /v1/campaigns/{id}/run.
type runRequest struct {
	Occurrence string `json:"occurrence"`
}

// runAnswer is the reply to POST /v1/campaigns/{id}/run: the worker.Firing, and
// when the occurrence had run, how to send again on purpose.
type runAnswer struct {
	worker.Firing
	Hint string `json:"hint,omitempty"`
}

// adminRun fires a campaign's current occurrence, or the one the body names:
// 202 when it started, 200 when that occurrence had run (nothing is sent
// again), 400 for a bad body or name, 404, 409 when paused.
func (h *api) run(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req runRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body: ` + err.Error() +
			`; send nothing (the current occurrence) or {"occurrence": "manual-2026-12-03-promo"}`})
		return
	}
	f, err := h.e.Fire(r.Context(), id, req.Occurrence)
	var oe *worker.OccurrenceError
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.noCampaign(w, id)
	case errors.As(err, &oe):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": oe.Error()})
	case errors.Is(err, worker.ErrPaused):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	case err != nil:
		h.log.Error("campaign run failed", "campaign", id, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database or queue unavailable"})
	case f.Status == worker.FiringStarted:
		writeJSON(w, http.StatusAccepted, runAnswer{Firing: f})
	default:
		writeJSON(w, http.StatusOK, runAnswer{Firing: f, Hint: fmt.Sprintf("occurrence %s of %s has a run already; "+
			`nothing was sent again. To send again on purpose, name a new occurrence: {"occurrence": "manual-%s"}`,
			f.Occurrence, id, time.Now().UTC().Format("2006-01-02"))})
	}
}

func (h *api) pause(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, ok := h.e.Campaign(id); !ok {
			h.noCampaign(w, id)
			return
		}
		if err := h.e.SetPaused(r.Context(), id, paused); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
			return
		}
		cs, err := h.e.Status(r.Context(), id)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, cs)
	}
}

func (h *api) report(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rep, err := h.e.Report(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.noCampaign(w, id)
	case err != nil:
		h.log.Error("campaign report failed", "campaign", id, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ledgerQuery reads GET /v1/campaigns/{id}/deliveries's parameters.
func ledgerQuery(r *http.Request) (store.LedgerQuery, error) {
	v := r.URL.Query()
	q := store.LedgerQuery{CustomerExternalID: v.Get("customer"), Limit: worker.DefaultDeliveriesLimit}
	var err error
	if q.Statuses, err = worker.ParseStatuses(strings.Join(v["status"], ",")); err != nil {
		return q, err
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > worker.MaxDeliveriesLimit {
			return q, fmt.Errorf("limit %q: write a whole number from 1 to %d", s, worker.MaxDeliveriesLimit)
		}
		q.Limit = n
	}
	q.After, err = worker.DecodeCursor(v.Get("cursor"))
	return q, err
}

// adminDeliveries serves GET /v1/campaigns/{id}/deliveries.
func (h *api) deliveries(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q, err := ledgerQuery(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	page, err := h.e.Deliveries(r.Context(), id, q)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.noCampaign(w, id)
	case err != nil:
		h.log.Error("campaign deliveries failed", "campaign", id, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
	default:
		writeJSON(w, http.StatusOK, page)
	}
}
