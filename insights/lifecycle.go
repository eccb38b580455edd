package insights

import (
	"fmt"
	"math"
)

// Lifecycle stages, as exposed to audience rules (rules.Env.Lifecycle): the
// stages of the CRM notes, prospect -> new -> growing -> mature ->
// declining -> churned (issue 18 replaced the first round's gap-only
// "active" and "loyal", whose "loyal" also named an RFM segment).
const (
	StageProspect  = "prospect"
	StageNew       = "new"
	StageGrowing   = "growing"
	StageMature    = "mature"
	StageDeclining = "declining"
	StageChurned   = "churned"
)

// Stages lists every lifecycle stage Stage can return, in lifecycle order,
// so that rules can reject a misspelt stage at load time.
func Stages() []string {
	return []string{StageProspect, StageNew, StageGrowing, StageMature, StageDeclining, StageChurned}
}

// LifecycleRules are the thresholds of the lifecycle stages. Stage applies,
// in order:
//
//   - prospect: no purchase;
//   - new: the first purchase within NewWithinDays;
//   - churned: the churn model's P(alive) below ChurnPAlive;
//   - declining: the customer's own volume or value falls against their own
//     history: a single purchase day and past new (they did not come back),
//     or no purchase for max(DeclineGapMultiple x own gap, DeclineFloorDays)
//     (buying slower than their own rhythm), or spend of the latest 90 days
//     below DeclineBelow x the 90 days before, from a baseline of at least
//     the value floor (ValueWindows, ValueChurnRule.Trend);
//   - growing: spend of the latest 90 days at least GrowAbove x the 90 days
//     before (the earlier window floored as in value_trend);
//   - mature: the other repeat buyers, buying on their rhythm at a steady value.
//
// The own gap is the average days between purchase days.
type LifecycleRules struct {
	// NewWithinDays: a customer whose first purchase is at most this many
	// days old is new.
	NewWithinDays float64
	// ChurnPAlive: P(alive) below this means churned (when a model is fitted).
	ChurnPAlive float64
	// OneTimeChurnDays: a customer with a single purchase day, silent for
	// more than this, is churned. It stands in for the churn model where
	// the model cannot see a one-time buyer lapse (under BG/NBD their
	// P(alive) is 1 by construction); on CDNOW they are the customers least
	// likely to buy again (docs/intelligence.md).
	OneTimeChurnDays float64
	// DeclineGapMultiple and DeclineFloorDays: no purchase for
	// max(DeclineGapMultiple x own gap, DeclineFloorDays) days means
	// declining; the floor keeps a rhythm measured on two close purchase
	// days from making a customer declining within days.
	DeclineGapMultiple float64
	DeclineFloorDays   float64
	// DeclineBelow: value_trend below this, with a baseline, means declining.
	DeclineBelow float64
	// GrowAbove: value_trend at or above this means growing.
	GrowAbove float64
}

// DefaultLifecycleRules returns the documented defaults: new for 90 days
// after the first purchase; churned below P(alive) 0.3; declining past
// max(1.5 x own gap, 90 days) or at a value trend below 0.5; growing at a
// value trend of 1.5 or more.
func DefaultLifecycleRules() LifecycleRules {
	return LifecycleRules{
		NewWithinDays:      90,
		ChurnPAlive:        0.3,
		OneTimeChurnDays:   180,
		DeclineGapMultiple: 1.5,
		DeclineFloorDays:   90,
		DeclineBelow:       0.5,
		GrowAbove:          1.5,
	}
}

// Validate reports rules that cannot order the stages sensibly.
func (l LifecycleRules) Validate() error {
	switch {
	case l.NewWithinDays < 0 || l.DeclineFloorDays < 0 || l.OneTimeChurnDays < l.NewWithinDays:
		return fmt.Errorf("insights: lifecycle rules: want day thresholds >= 0 and one-time churn days (%g) >= "+
			"new within days (%g); decline floor %g", l.OneTimeChurnDays, l.NewWithinDays, l.DeclineFloorDays)
	case !(l.DeclineGapMultiple > 0):
		return fmt.Errorf("insights: lifecycle rules: the decline gap multiple must be > 0, got %g", l.DeclineGapMultiple)
	case l.ChurnPAlive < 0 || l.ChurnPAlive > 1:
		return fmt.Errorf("insights: lifecycle rules: churn P(alive) must be in [0, 1], got %g", l.ChurnPAlive)
	case !(l.DeclineBelow > 0) || !(l.GrowAbove > l.DeclineBelow):
		return fmt.Errorf("insights: lifecycle rules: want 0 < decline trend (%g) < growth trend (%g)",
			l.DeclineBelow, l.GrowAbove)
	}
	return nil
}

// StageInput is what Stage reads of one customer at the refresh clock.
type StageInput struct {
	// PurchaseDays counts the customer's distinct purchase dates (several
	// orders on one date are one purchase, as the models count); 0 is a
	// prospect.
	PurchaseDays int
	// DaysSinceFirst and DaysSinceLast are days from the first and the
	// latest purchase date to the clock.
	DaysSinceFirst, DaysSinceLast float64
	// Windows are the spend and orders of the latest 90 days and the 90
	// days before.
	Windows ValueWindows
	// PAlive is the churn model's P(alive); negative or NaN when no model
	// is fitted.
	PAlive float64
}

// OwnGapDays is the customer's average days between purchase days, 0 with
// fewer than two.
func (in StageInput) OwnGapDays() float64 {
	if in.PurchaseDays < 2 {
		return 0
	}
	return (in.DaysSinceFirst - in.DaysSinceLast) / float64(in.PurchaseDays-1)
}

// Stage classifies one customer; value is the refresh's value churn rule
// (its floor and trend). See LifecycleRules for the order of the rules.
func (l LifecycleRules) Stage(in StageInput, value ValueChurnRule) string {
	switch {
	case in.PurchaseDays <= 0:
		return StageProspect
	case in.DaysSinceFirst <= l.NewWithinDays:
		return StageNew
	case in.PAlive >= 0 && in.PAlive < l.ChurnPAlive: // NaN compares false
		return StageChurned
	case in.PurchaseDays == 1 && in.DaysSinceLast > l.OneTimeChurnDays:
		return StageChurned
	case in.PurchaseDays == 1:
		return StageDeclining
	case in.DaysSinceLast > math.Max(l.DeclineGapMultiple*in.OwnGapDays(), l.DeclineFloorDays):
		return StageDeclining
	}
	trend := value.Trend(in.Windows)
	if in.Windows.SpendPrev90dCents >= value.FloorCents && trend < l.DeclineBelow {
		return StageDeclining
	}
	if in.Windows.Orders90d >= 1 && trend >= l.GrowAbove {
		return StageGrowing
	}
	return StageMature
}
