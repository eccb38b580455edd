package worker

import (
	"context"
	"fmt"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// JourneyReport is the part of a report only a journey has: its funnel per
// step, its exits by reason and its split arms compared.
type JourneyReport struct {
	Entered int64 `json:"entered"` // entries that took steps (not the holdout)
	Holdout int64 `json:"holdout"`
	// Steps are in file order.
	Steps []JourneyStepReport `json:"steps"`
	// Exits counts the entries that left, by reason ("completed", "purchase",
	// an exit step's reason, "step_removed").
	Exits map[string]int64 `json:"exits"`
	// Splits are the arms of the journey's split steps, each compared with
	// the holdout (or, without one, with the first arm) with its interval.
	Splits []ArmReport `json:"splits,omitempty"`
}

// JourneyStepReport is one step of the funnel.
type JourneyStepReport struct {
	Step      string   `json:"step"`
	Kind      string   `json:"kind"`
	Passed    int64    `json:"passed"`  // entries that took the step
	Sent      int64    `json:"sent"`    // its messages accepted by the provider (send steps)
	Waiting   int64    `json:"waiting"` // entries at the step now
	Converted int64    `json:"converted"`
	Revenue   float64  `json:"revenue"`
	Next      []string `json:"next,omitempty"` // the steps it leads to (the graph's edges)
	// FeedbackCounts is what providers reported about its sent messages.
	store.FeedbackCounts
}

// journeyReport fills a journey's report from its states: the entered and
// the holdout as the arms (the lift of the whole journey), the funnel, the
// exits and the split arms.
func (e *Engine) journeyReport(ctx context.Context, rd *store.Store, c *campaigns.Campaign, r *Report) error {
	out, err := rd.JourneyOutcomesOf(ctx, c.ID, c.AttributionWindow)
	if err != nil {
		return fmt.Errorf("report %s: %w", c.ID, err)
	}
	jr := &JourneyReport{Exits: out.Exits}
	var treated, holdout store.ArmOutcome
	holdout.Holdout = true
	arms := map[string]*store.ArmOutcome{}
	var armOrder []string
	for _, a := range out.Arms {
		dst := &treated
		if a.Holdout {
			dst = &holdout
		}
		dst.Audience += a.Entries
		dst.Conversions += a.Conversions
		dst.RevenueCents += a.RevenueCents
		if !a.Holdout && a.Arm != "" {
			arms[a.Arm] = &store.ArmOutcome{Variant: a.Arm, Audience: a.Entries, Conversions: a.Conversions,
				RevenueCents: a.RevenueCents}
			armOrder = append(armOrder, a.Arm)
		}
	}
	jr.Entered, jr.Holdout = treated.Audience, holdout.Audience
	for _, s := range c.Journey.Steps {
		sr := JourneyStepReport{Step: s.ID, Kind: string(s.Kind), Next: c.Journey.Successors(s)}
		if n := out.Steps[s.ID]; n != nil {
			sr.Passed, sr.Sent, sr.Waiting, sr.Converted = n.Passed, n.Sent, n.Waiting, n.Converted
			sr.FeedbackCounts = n.Feedback
			treated.Feedback.Plus(n.Feedback)
			sr.Revenue = float64(n.RevenueCents) / 100
			treated.Sent += n.Sent
		}
		jr.Steps = append(jr.Steps, sr)
	}
	r.Treated = armReport("treated", treated)
	r.Arms = []ArmReport{armReport("all", treated)}
	var held *store.ArmOutcome
	if c.Holdout > 0 || holdout.Audience > 0 {
		held = &holdout
		r.Lift = liftOver(treated, holdout)
		r.Arms[0].Lift, r.Treated.Lift = r.Lift, r.Lift
		r.Arms = append(r.Arms, armReport("holdout", holdout))
	}
	r.Verdict = verdict(c, treated, held, r.Lift)
	for i, id := range armOrder {
		a := armReport(id, *arms[id])
		switch {
		case held != nil:
			a.Lift = liftOver(*arms[id], holdout)
		case i > 0:
			a.Lift = liftOver(*arms[id], *arms[armOrder[0]])
		}
		jr.Splits = append(jr.Splits, a)
	}
	r.Journey = jr
	return nil
}
