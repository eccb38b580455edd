package worker

import (
	"context"
	"sync"
	"time"
)

// pauseTTL is how long an engine trusts its copy of the paused campaigns: a
// pause from the admin API reaches every worker within this time.
const pauseTTL = 2 * time.Second

// pauses caches the operator-paused campaigns read from the database.
type pauses struct {
	mu   sync.Mutex
	read time.Time
	set  map[string]bool
}

// Paused reports whether an operator paused the campaign (the file's own
// status: paused is separate and final until the file changes).
func (e *Engine) Paused(ctx context.Context, campaignID string) (bool, error) {
	p := &e.pauses
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.set == nil || time.Since(p.read) > pauseTTL {
		set, err := e.st.PausedCampaigns(ctx)
		if err != nil {
			return false, err
		}
		p.set, p.read = set, time.Now()
	}
	return p.set[campaignID], nil
}

// SetPaused pauses or resumes a campaign for every worker: no new runs, and
// waiting messages are held (not cancelled) until it is resumed.
func (e *Engine) SetPaused(ctx context.Context, campaignID string, paused bool) error {
	if err := e.st.SetPaused(ctx, campaignID, paused, e.now()); err != nil {
		return err
	}
	e.forgetPauses()
	return nil
}

// forgetPauses makes the next Paused read the database.
func (e *Engine) forgetPauses() {
	e.pauses.mu.Lock()
	e.pauses.set = nil
	e.pauses.mu.Unlock()
}

// holdPaused defers a waiting row of a paused campaign and checks again after
// Options.PauseRecheck.
func (e *Engine) holdPaused(ctx context.Context, id int64, now time.Time) error {
	at := now.Add(e.opts.PauseRecheck)
	if err := e.st.Defer(ctx, id, at, "campaign paused (by an operator, or by the safety: docs/deliverability.md)", now); err != nil {
		return err
	}
	return e.q.Deliver(ctx, id, at)
}
