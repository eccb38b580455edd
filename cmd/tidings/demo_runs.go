package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// demoFiring is one campaign's part in a demo cycle: the occurrence it fired,
// or found already run.
type demoFiring struct {
	c *campaigns.Campaign
	worker.Firing
}

func (d demoFiring) started() bool { return d.Status == worker.FiringStarted }

// fireDemo fires every scheduled campaign: its current occurrence, or the
// named one. Occurrences that ran before are reported, not run again; a
// campaign paused by an operator, or with no occurrence yet, is skipped with
// a line on stderr.
func (a *app) fireDemo(ctx context.Context, e *worker.Engine, occurrence string) ([]demoFiring, error) {
	var out []demoFiring
	for _, c := range e.Campaigns() {
		if c.Trigger.Kind == campaigns.TriggerEvent || c.Trigger.Kind == campaigns.TriggerAPI || c.Status == campaigns.StatusPaused {
			continue
		}
		f, err := e.Fire(ctx, c.ID, occurrence)
		var oe *worker.OccurrenceError
		if errors.Is(err, worker.ErrPaused) || errors.As(err, &oe) {
			fmt.Fprintf(a.stderr, "skipped %s: %v\n", c.ID, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, demoFiring{c: c, Firing: f})
	}
	return out, nil
}

// waitSettled waits until every run started now is evaluated and no due
// message is waiting or being sent.
func waitSettled(ctx context.Context, st *store.Store, fired []demoFiring, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		done := true
		for _, d := range fired {
			if !d.started() {
				continue
			}
			ok, err := st.RunDone(ctx, d.c.ID, d.Occurrence)
			if err != nil {
				return err
			}
			done = done && ok
		}
		if done {
			n, err := st.CountDue(ctx, time.Now())
			if err != nil {
				return err
			}
			if n == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: runs did not settle within %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// printDemoTable prints one row per campaign with the numbers of the run this
// demo started (its ledger rows, not every run's), and under the table the
// occurrences that had run before and were not sent again.
func (a *app) printDemoTable(ctx context.Context, st *store.Store, fired []demoFiring) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CAMPAIGN\tTRIGGER\tOCCURRENCE\tAUDIENCE\tSENT\tSUPPRESSED\tCAPPED\tDEFERRED\tHOLDOUT\tFAILED\tEXPIRED\t")
	var before []demoFiring
	for _, d := range fired {
		if !d.started() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t\n", d.c.ID, d.c.Trigger.Kind, d.Occurrence)
			before = append(before, d)
			continue
		}
		run, err := st.RunByOccurrence(ctx, d.c.ID, d.Occurrence)
		if err != nil {
			return err
		}
		n, err := st.RunCounts(ctx, run)
		if err != nil {
			return err
		}
		total := 0
		for _, v := range n {
			total += v
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", d.c.ID, d.c.Trigger.Kind, d.Occurrence, total,
			n[store.StatusSent], n[store.StatusSuppressed], n[store.StatusCapped], n[store.StatusDeferred],
			n[store.StatusHoldout], n[store.StatusFailed]+n[store.StatusUnknown], n[store.StatusExpired])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range before {
		what := "already sent"
		if d.Status == worker.FiringAlreadyRunning {
			what = "already running"
		}
		fmt.Fprintf(a.stdout, "%s: %s %s (run started %s); nothing resent\n", what, d.c.ID, d.Occurrence, startedAt(d.Run))
	}
	if len(before) > 0 {
		fmt.Fprintln(a.stdout, "to send again on purpose, name a new occurrence: tidings demo --once --occurrence NAME")
	}
	return nil
}

// startedAt prints when a run started, in UTC.
func startedAt(r *worker.RunStatus) string {
	if r == nil || r.StartedAt == nil {
		return "at an unknown time"
	}
	return r.StartedAt.UTC().Format("2006-01-02 15:04 UTC")
}
