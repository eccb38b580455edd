package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// demoJourneys runs one journey sweep after the firings (the customers who
// entered take their first steps: the first sends go out, the rest wait in
// SQL), waits for those sends, and prints each fired journey's funnel.
func (a *app) demoJourneys(ctx context.Context, st *store.Store, e *worker.Engine, fired []demoFiring) error {
	var ids []string
	for _, d := range fired {
		if d.c.Journey != nil && d.started() {
			ids = append(ids, d.c.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := e.SweepJourneys(ctx); err != nil {
		return fmt.Errorf("demo: journey sweep: %w", err)
	}
	if err := waitSettled(ctx, st, nil, time.Minute); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "\njourneys (first steps taken now; the waits continue in SQL, swept every 2 s while tidings runs):")
	for _, id := range ids {
		r, err := e.Report(ctx, id)
		if err != nil {
			return err
		}
		j := r.Journey
		var steps []string
		for _, s := range j.Steps {
			if s.Passed+s.Waiting == 0 {
				continue
			}
			part := fmt.Sprintf("%s: %d passed", s.Step, s.Passed)
			if s.Kind == "send" {
				part += fmt.Sprintf(", %d sent", s.Sent)
			}
			if s.Waiting > 0 {
				part += fmt.Sprintf(", %d waiting", s.Waiting)
			}
			steps = append(steps, part)
		}
		if len(steps) == 0 {
			steps = []string{"nobody due now"}
		}
		fmt.Fprintf(a.stdout, "  %s: %d entered, %d held out; %s (tidings report %s)\n", id, j.Entered, j.Holdout,
			strings.Join(steps, "; "), id)
	}
	return nil
}
