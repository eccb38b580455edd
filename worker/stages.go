package worker

import (
	"context"
	"fmt"
	"math"
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
		switch c.Type {
		case store.LifecycleChangedEvent:
			r.StageChanges++
			r.Transitions[c.From+" -> "+c.To]++
		case store.TierChangedEvent:
			r.TierChanges++
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

// addValueInputs keeps what the ABC cuts and the typical gap need of one
// buyer, in the first pass.
func (in *fitInputs) addValueInputs(c insights.CustomerStats, sum insights.Summary, unit time.Duration) {
	in.spend = append(in.spend, int64(math.Round(c.TotalSpent*100)))
	if sum.X > 0 {
		in.gaps = append(in.gaps, sum.TX/sum.X*unit.Hours()/24)
	}
}

// resolveValueInputs computes the ABC cut points and the typical gap once
// the first pass has read every buyer.
func (s *refreshScorer) resolveValueInputs(in *fitInputs) {
	s.rep.ABC = insights.ABCCuts(in.spend)
	s.rep.TypicalGap = insights.MedianGapDays(in.gaps)
	in.spend, in.gaps = nil, nil
}

// valueClasses sets the ABC class, the loyalty tier and the expected days
// to the next purchase of one customer's row.
func (s *refreshScorer) valueClasses(row *store.InsightRow, h *store.CustomerHistory, c insights.CustomerStats,
	sum insights.Summary) {
	row.NextPurchaseDays = insights.NoNextPurchase
	if c.Orders == 0 {
		return
	}
	days := s.opts.Score.Unit.Hours() / 24
	gap := 0.0
	if sum.X > 0 {
		gap = sum.TX / sum.X * days
	}
	row.NextPurchaseDays = insights.NextPurchaseDays(int(sum.X)+1, gap, (sum.T-sum.TX)*days, s.rep.TypicalGap)
	row.ABC = s.rep.ABC.Class(int64(math.Round(c.TotalSpent * 100)))
	if t := s.opts.Tiers; t != nil {
		s.tierBuf = s.tierBuf[:0]
		for _, p := range h.Purchases {
			s.tierBuf = append(s.tierBuf, insights.TierPurchase{At: p.OccurredAt, Cents: p.AmountCents})
		}
		row.Tier = t.Of(s.tierBuf, s.now)
		s.rep.Tiers[row.Tier]++
	}
}

// tierOrder is the tiers lowest first, for the direction of tier changes.
func (s *refreshScorer) tierOrder() []string {
	if s.opts.Tiers == nil {
		return nil
	}
	return s.opts.Tiers.Names()
}
