package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/store"
)

// CampaignStatus is one campaign as the admin API lists it.
type CampaignStatus struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Trigger string `json:"trigger"`
	Status  string `json:"status"` // active, paused (file) or paused (operator)
	Paused  bool   `json:"paused"` // paused by an operator
	// PauseReason says why the campaign paused itself (its complaint or
	// hard-bounce rate; docs/deliverability.md); "" for an operator's pause.
	PauseReason string               `json:"pause_reason,omitempty"`
	LastRun     *RunStatus           `json:"last_run,omitempty"`
	Ledger      map[store.Status]int `json:"ledger"` // deliveries by status, all runs
}

// RunStatus is a campaign run as the admin API shows it.
type RunStatus struct {
	Occurrence string          `json:"occurrence"`
	Status     store.RunStatus `json:"status"`
	StartedAt  *time.Time      `json:"started_at,omitempty"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
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
		reasons, err := e.st.PauseReasons(ctx)
		if err != nil {
			return cs, err
		}
		cs.PauseReason = reasons[id]
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
