package worker

import (
	"context"
	"time"
)

// ReconcileReport counts what one reconciler pass repaired.
type ReconcileReport struct {
	Unknown    int64 // claims expired and marked unknown (not resent)
	Resent     int64 // claims expired and made pending again (campaign opted in)
	Requeued   int   // waiting rows whose task was gone, enqueued again
	Shards     int   // pending shards re-enqueued
	Runs       int   // runs re-planned
	Purged     int64 // webhook payloads emptied after the inbox retention
	Incomplete bool  // more waiting rows remain than one pass handles
}

// staleAfter is how long a waiting row, shard or run may sit untouched before
// the reconciler assumes its task is gone (Redis lost it) and enqueues it
// again. A task that still exists is not duplicated: task ids are
// deterministic and the claim is atomic. A task-id conflict is trusted only
// once Redis shows the task will run (Enqueuer.Redis): the remains of a
// half-evicted task are cleared and the task enqueued again.
const staleAfter = time.Minute

// reconcileLimit bounds the waiting rows re-enqueued per pass.
const reconcileLimit = 5000

// Reconcile makes the queue agree with the ledger (DESIGN.md invariant 1): it
// settles claims whose worker died, and re-enqueues rows, shards and runs
// whose tasks are gone.
func (e *Engine) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var r ReconcileReport
	now := e.now()
	var resend []string
	for _, c := range e.Campaigns() {
		if c.ResendUnknown {
			resend = append(resend, c.ID)
		}
	}
	var err error
	if r.Unknown, r.Resent, err = e.st.ExpireClaims(ctx, now.Add(-e.opts.Lease), resend, now); err != nil {
		return r, err
	}
	waiting, err := e.st.StaleWaiting(ctx, now.Add(-staleAfter), reconcileLimit, now)
	if err != nil {
		return r, err
	}
	for _, w := range waiting {
		var nb time.Time
		if w.NotBefore != nil && w.NotBefore.After(now) {
			nb = *w.NotBefore
		}
		created, err := e.q.redeliver(ctx, w.ID, nb)
		if err != nil {
			return r, err
		}
		if created { // a row whose task still waits in Redis is not requeued
			r.Requeued++
		}
	}
	r.Incomplete = len(waiting) == reconcileLimit
	shards, err := e.st.StaleShards(ctx, now.Add(-staleAfter), now)
	if err != nil {
		return r, err
	}
	for _, sh := range shards {
		if err := e.q.Shard(ctx, ShardPayload{RunID: sh.RunID, Lo: sh.Lo, Hi: sh.Hi}); err != nil {
			return r, err
		}
		r.Shards++
	}
	runs, err := e.st.StaleRuns(ctx, now.Add(-staleAfter))
	if err != nil {
		return r, err
	}
	for i := range runs {
		if err := e.planShards(ctx, &runs[i]); err != nil {
			return r, err
		}
		r.Runs++
	}
	if e.opts.InboxRetention > 0 {
		if r.Purged, err = e.st.PurgeInboxPayloads(ctx, now.Add(-e.opts.InboxRetention), reconcileLimit); err != nil {
			return r, err
		}
	}
	if r != (ReconcileReport{}) {
		e.opts.Logger.Info("reconciled", "unknown", r.Unknown, "resent", r.Resent, "requeued", r.Requeued,
			"shards", r.Shards, "runs", r.Runs, "purged", r.Purged)
	}
	return r, nil
}

// RunReconciler reconciles every interval until ctx ends.
func (e *Engine) RunReconciler(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := e.Reconcile(ctx); err != nil && ctx.Err() == nil {
			e.opts.Logger.Error("reconcile", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
