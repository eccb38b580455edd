package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
)

// stageInput is what the lifecycle stage reads of one customer: purchase
// days and their dates from the model summary (the models' counting), the
// value windows, and P(alive) when a model is fitted (fitted false leaves
// it unknown: no customer is churned without a churn model).
func stageInput(c insights.CustomerStats, sum insights.Summary, w insights.ValueWindows, unit time.Duration,
	pAlive float64, fitted bool) insights.StageInput {
	if c.Orders == 0 {
		return insights.StageInput{}
	}
	days := unit.Hours() / 24
	in := insights.StageInput{PurchaseDays: int(sum.X) + 1, DaysSinceFirst: sum.T * days,
		DaysSinceLast: (sum.T - sum.TX) * days, Windows: w, PAlive: -1}
	if fitted {
		in.PAlive = pAlive
	}
	return in
}

// countChanges adds the changes a batch recorded to the report.
func (r *InsightsReport) countChanges(changes []store.Change) {
	for _, c := range changes {
		if c.Type == store.LifecycleChangedEvent {
			r.StageChanges++
			r.Transitions[c.From+" -> "+c.To]++
		}
		r.ChangeEvents = append(r.ChangeEvents, c.EventID)
	}
}

// refreshAndReact is the scheduled refresh: RefreshInsights, then the
// reaction of every change it recorded is enqueued, as ingest does for the
// shop's events, so campaigns triggered by lifecycle_changed run. A
// reaction not enqueued (Redis down, a retried refresh whose earlier
// attempt wrote the change) stays in the inbox for `tidings events replay`.
func (e *Engine) refreshAndReact(ctx context.Context, now time.Time, opts InsightsOptions) (InsightsReport, error) {
	rep, err := RefreshInsights(ctx, e.st, now, opts)
	if err != nil {
		return rep, err
	}
	for _, id := range rep.ChangeEvents {
		if err := e.q.Event(ctx, id); err != nil {
			return rep, fmt.Errorf("insights refresh: enqueue the reaction to %s: %w", id, err)
		}
	}
	return rep, nil
}
