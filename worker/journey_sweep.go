package worker

import (
	"context"
	"slices"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// journeyBatch is how many due journey states one claim takes: one query
// for their events, one for their customers, then a transaction each.
const journeyBatch = 200

// maxStepsPerPass bounds the steps one customer takes in one pass, so a
// long chain of steps without a wait cannot hold a sweeper: the customer
// stays due and the next pass goes on.
const maxStepsPerPass = 20

// SweepReport counts what one sweep did.
type SweepReport struct {
	Claimed  int   // due states leased
	Advanced int   // states whose move was committed
	Lost     int   // moves dropped: another sweeper took the state after our lease ran out
	Failed   int   // states whose step failed (retried when their lease ends)
	Removed  int64 // customers exited because their step was removed from the file
}

// RunJourneySweeper advances due journey states every interval (and at
// once when this process enters customers or wakes a wait) until ctx ends.
// Every worker process runs one: on PostgreSQL they share the due states
// (SKIP LOCKED), on SQLite they take turns. Waiting customers are rows
// only; nothing of them is in Redis, so flushing Redis loses no wait.
func (e *Engine) RunJourneySweeper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := e.SweepJourneys(ctx); err != nil && ctx.Err() == nil {
			e.opts.Logger.Error("journey sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.journeyPoke:
		}
	}
}

// SweepJourneys advances every journey state due now, in batches, and
// returns what it did. Paused journeys are left waiting.
func (e *Engine) SweepJourneys(ctx context.Context) (SweepReport, error) {
	var rep SweepReport
	var ids []string
	for _, c := range e.Campaigns() {
		if c.Journey == nil || c.Status == campaigns.StatusPaused {
			continue
		}
		if paused, err := e.Paused(ctx, c.ID); err != nil || paused {
			if err != nil {
				return rep, err
			}
			continue
		}
		n, err := e.exitRemovedSteps(ctx, c)
		if err != nil {
			return rep, err
		}
		rep.Removed += n
		ids = append(ids, c.ID)
	}
	for len(ids) > 0 {
		now := e.now()
		states, err := e.st.ClaimDueJourneys(ctx, ids, now, journeyBatch, e.opts.Lease, newToken())
		if err != nil {
			return rep, err
		}
		rep.Claimed += len(states)
		if err := e.advanceBatch(ctx, states, now, &rep); err != nil {
			return rep, err
		}
		if len(states) < journeyBatch {
			break
		}
	}
	return rep, nil
}

// exitRemovedSteps exits, once per new version of a journey's file, the
// customers at steps the file no longer has (reason step_removed).
func (e *Engine) exitRemovedSteps(ctx context.Context, c *campaigns.Campaign) (int64, error) {
	if seen, ok := e.journeysSeen.Load(c.ID); ok && seen == c.Journey {
		return 0, nil
	}
	steps := make([]string, len(c.Journey.Steps))
	for i, s := range c.Journey.Steps {
		steps[i] = s.ID
	}
	n, err := e.st.ExitRemovedSteps(ctx, c.ID, steps, e.now())
	if err != nil {
		return 0, err
	}
	if n > 0 {
		e.opts.Logger.Warn("journey edited: customers at removed steps exited", "campaign", c.ID, "customers", n,
			"reason", store.ExitStepRemoved)
	}
	e.journeysSeen.Store(c.ID, c.Journey)
	return n, nil
}

// advanceBatch runs the steps of a batch of leased states and commits each
// one's move. A step that fails leaves its state leased: it is due again
// when the lease ends.
func (e *Engine) advanceBatch(ctx context.Context, states []store.JourneyState, now time.Time, rep *SweepReport) error {
	if len(states) == 0 {
		return nil
	}
	ids, custIDs := make([]int64, len(states)), make([]int64, len(states))
	for i, s := range states {
		ids[i], custIDs[i] = s.ID, s.CustomerID
	}
	events, err := e.st.JourneyEventsFor(ctx, ids)
	if err != nil {
		return err
	}
	custs, err := e.st.CustomersByIDs(ctx, custIDs)
	if err != nil {
		return err
	}
	moves := make([]store.JourneyMove, 0, len(states))
	var sends stepSends
	for i := range states {
		s := &states[i]
		c, ok := e.Campaign(s.JourneyID)
		if !ok || c.Journey == nil {
			continue // unloaded meanwhile: due again when the lease ends
		}
		mark := len(sends.pending)
		w := &walk{e: e, c: c, s: s, cust: custs[s.CustomerID], events: events[s.ID], now: now,
			sends: &sends, move: len(moves)}
		m, err := w.run(ctx)
		if err != nil {
			sends.drop(mark)
			e.failedStep(rep, s, w.m.Step, err)
			continue
		}
		moves = append(moves, m)
	}
	failed := sends.plan(ctx, e, moves, now)
	if len(failed) > 0 {
		kept := moves[:0]
		for i, m := range moves {
			if err := failed[i]; err != nil {
				e.failedStep(rep, &states[slices.IndexFunc(states, func(s store.JourneyState) bool { return s.ID == m.StateID })], m.Step, err)
				continue
			}
			kept = append(kept, m)
		}
		moves = kept
	}
	lost, err := e.st.AdvanceJourneys(ctx, moves, now)
	if err != nil {
		return err
	}
	rep.Lost += lost
	rep.Advanced += len(moves) - lost
	return nil
}

// failedStep counts and logs a state whose pass failed: it stays leased and
// is due again when its lease ends.
func (e *Engine) failedStep(rep *SweepReport, s *store.JourneyState, step string, err error) {
	rep.Failed++
	e.opts.Logger.Warn("journey step failed; retried when its lease ends", "campaign", s.JourneyID,
		"customer", s.CustomerID, "step", step, "err", err)
}
