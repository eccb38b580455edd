package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tidings-crm/tidings/store"
)

// CampaignStatus is one campaign as the admin API lists it.
type CampaignStatus struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Trigger string         `json:"trigger"`
	Status  string         `json:"status"` // active, paused (file) or paused (operator)
	Paused  bool           `json:"paused"` // paused by an operator
	LastRun *RunStatus     `json:"last_run,omitempty"`
	Ledger  map[string]int `json:"ledger"` // deliveries by status, all runs
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
//	POST /v1/campaigns/{id}/run      fire the campaign now (a new run)
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
		cs.LastRun = &RunStatus{Occurrence: run.Occurrence, Status: run.Status, StartedAt: run.StartedAt, FinishedAt: run.FinishedAt}
	case !errors.Is(err, store.ErrNotFound):
		return cs, err
	}
	return cs, nil
}

func (e *Engine) adminRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := e.Campaign(id); !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no campaign " + id + " is loaded"})
		return
	}
	now := e.now()
	key := "manual-" + now.Format("2006-01-02T15:04:05Z")
	if err := e.Enqueue(r.Context(), id, key, now); err != nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"campaign": id, "run": key})
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
