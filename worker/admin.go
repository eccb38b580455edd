package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tidings-crm/tidings/store"
)

// CampaignStatus is one campaign as the admin API lists it.
type CampaignStatus struct {
	ID      string               `json:"id"`
	Name    string               `json:"name"`
	Trigger string               `json:"trigger"`
	Status  string               `json:"status"` // active, paused (file) or paused (operator)
	Paused  bool                 `json:"paused"` // paused by an operator
	LastRun *RunStatus           `json:"last_run,omitempty"`
	Ledger  map[store.Status]int `json:"ledger"` // deliveries by status, all runs
}

// RunStatus is a campaign run as the admin API shows it.
type RunStatus struct {
	Occurrence string     `json:"occurrence"`
	Status     string     `json:"status"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
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
func (e *Engine) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/campaigns", e.adminList)
	mux.HandleFunc("POST /v1/campaigns/{id}/run", e.adminRun)
	mux.HandleFunc("POST /v1/campaigns/{id}/pause", e.adminPause(true))
	mux.HandleFunc("POST /v1/campaigns/{id}/resume", e.adminPause(false))
	mux.HandleFunc("GET /v1/campaigns/{id}/report", e.adminReport)
	mux.HandleFunc("GET /v1/campaigns/{id}/deliveries", e.adminDeliveries)
	return mux
}

func (e *Engine) adminList(w http.ResponseWriter, r *http.Request) {
	out := []CampaignStatus{}
	for _, c := range e.Campaigns() {
		cs, err := e.Status(r.Context(), c.ID)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
			return
		}
		out = append(out, cs)
	}
	writeJSON(w, http.StatusOK, out)
}

// Status returns a loaded campaign's state, last run and ledger counts, as
// the admin API lists them and the dashboard shows them.
func (e *Engine) Status(ctx context.Context, id string) (CampaignStatus, error) {
	c, ok := e.Campaign(id)
	if !ok {
		return CampaignStatus{}, fmt.Errorf("campaign %s: %w", id, store.ErrNotFound)
	}
	paused, err := e.Paused(ctx, id)
	if err != nil {
		return CampaignStatus{}, err
	}
	cs := CampaignStatus{ID: c.ID, Name: c.Name, Trigger: string(c.Trigger.Kind), Status: string(c.Status), Paused: paused}
	if paused {
		cs.Status = "paused"
	}
	if cs.Ledger, err = e.st.CampaignCounts(ctx, id); err != nil {
		return cs, err
	}
	run, err := e.st.LastRun(ctx, id)
	switch {
	case err == nil:
		cs.LastRun = runStatus(run)
	case !errors.Is(err, store.ErrNotFound):
		return cs, err
	}
	return cs, nil
}

// runRequest is the optional body of POST /v1/campaigns/{id}/run.
type runRequest struct {
	Occurrence string `json:"occurrence"`
}

// runAnswer is the reply to POST /v1/campaigns/{id}/run: the Firing, and
// when the occurrence had run, how to send again on purpose.
type runAnswer struct {
	Firing
	Hint string `json:"hint,omitempty"`
}

// adminRun fires a campaign's current occurrence, or the one the body names:
// 202 when it started, 200 when that occurrence had run (nothing is sent
// again), 400 for a bad body or name, 404, 409 when paused.
func (e *Engine) adminRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req runRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body: ` + err.Error() +
			`; send nothing (the current occurrence) or {"occurrence": "manual-2026-12-03-promo"}`})
		return
	}
	f, err := e.Fire(r.Context(), id, req.Occurrence)
	var oe *OccurrenceError
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no campaign " + id + " is loaded"})
	case errors.As(err, &oe):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": oe.Error()})
	case errors.Is(err, ErrPaused):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	case err != nil:
		e.opts.Logger.Error("campaign run failed", "campaign", id, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database or queue unavailable"})
	case f.Status == FiringStarted:
		writeJSON(w, http.StatusAccepted, runAnswer{Firing: f})
	default:
		writeJSON(w, http.StatusOK, runAnswer{Firing: f, Hint: fmt.Sprintf("occurrence %s of %s has a run already; "+
			`nothing was sent again. To send again on purpose, name a new occurrence: {"occurrence": "manual-%s"}`,
			f.Occurrence, id, e.now().Format("2006-01-02"))})
	}
}

func (e *Engine) adminPause(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, ok := e.Campaign(id); !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no campaign " + id + " is loaded"})
			return
		}
		if err := e.SetPaused(r.Context(), id, paused); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
			return
		}
		cs, err := e.Status(r.Context(), id)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, cs)
	}
}

func (e *Engine) adminReport(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rep, err := e.Report(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no campaign " + id + " is loaded"})
	case err != nil:
		e.opts.Logger.Error("campaign report failed", "campaign", id, "err", err)
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
