package insights

import (
	"fmt"
	"math"
)

// Lifecycle stages, as exposed to audience rules (rules.Env.Lifecycle).
const (
	StageProspect  = "prospect"
	StageNew       = "new"
	StageActive    = "active"
	StageLoyal     = "loyal"
	StageDeclining = "declining"
	StageChurned   = "churned"
)

// Stages lists every lifecycle stage Stage can return, in lifecycle order,
// so that rules can reject a misspelt stage at load time.
func Stages() []string {
	return []string{StageProspect, StageNew, StageActive, StageLoyal, StageDeclining, StageChurned}
}

// LifecycleRules are the thresholds of the lifecycle stage rules. Gaps are
// measured against the customer's own rhythm: their average days between
// purchases, or DefaultGapDays for customers with a single order. See
// DefaultLifecycleRules for the values and the package doc for the rules.
type LifecycleRules struct {
	// NewWithinDays: a customer with exactly one order, placed at most this
	// many days ago, is new.
	NewWithinDays float64
	// DefaultGapDays stands in for the own rhythm of one-order customers
	// (a typical repurchase gap for the shop; the base's median gap is a
	// good choice).
	DefaultGapDays float64
	// DeclineGapMultiple: the current gap (days since the last purchase)
	// beyond this multiple of the own gap means declining.
	DeclineGapMultiple float64
	// DeclinePAlive: P(alive) below this means declining (when known).
	DeclinePAlive float64
	// ChurnGapMultiple and ChurnFloorDays: no purchase for
	// max(ChurnGapMultiple x own gap, ChurnFloorDays) days means churned; the
	// floor keeps a weekly buyer's holiday from counting as churn.
	ChurnGapMultiple float64
	ChurnFloorDays   float64
	// ChurnPAlive: P(alive) below this means churned (when known).
	ChurnPAlive float64
	// LoyalMinOrders: at least this many orders, and neither declining nor
	// churned, means loyal.
	LoyalMinOrders int
}

// DefaultLifecycleRules returns the documented defaults: new within 90 days
// of a first order; a 90-day stand-in rhythm for one-order customers;
// declining past 1.5x the own gap or P(alive) < 0.5; churned past
// max(3x own gap, 180 days) or P(alive) < 0.15; loyal from 5 orders.
func DefaultLifecycleRules() LifecycleRules {
	return LifecycleRules{
		NewWithinDays:      90,
		DefaultGapDays:     90,
		DeclineGapMultiple: 1.5,
		DeclinePAlive:      0.5,
		ChurnGapMultiple:   3,
		ChurnFloorDays:     180,
		ChurnPAlive:        0.15,
		LoyalMinOrders:     5,
	}
}

// Validate reports rules that cannot order the stages sensibly.
func (l LifecycleRules) Validate() error {
	switch {
	case l.NewWithinDays < 0 || l.DefaultGapDays <= 0 || l.ChurnFloorDays < 0:
		return fmt.Errorf("insights: lifecycle rules: day thresholds must be >= 0 (default gap > 0)")
	case l.DeclineGapMultiple <= 0 || l.ChurnGapMultiple < l.DeclineGapMultiple:
		return fmt.Errorf("insights: lifecycle rules: want 0 < decline gap multiple (%g) <= churn gap multiple (%g)", l.DeclineGapMultiple, l.ChurnGapMultiple)
	case l.ChurnPAlive < 0 || l.DeclinePAlive > 1 || l.ChurnPAlive > l.DeclinePAlive:
		return fmt.Errorf("insights: lifecycle rules: want 0 <= churn P(alive) (%g) <= decline P(alive) (%g) <= 1", l.ChurnPAlive, l.DeclinePAlive)
	case l.LoyalMinOrders < 2:
		return fmt.Errorf("insights: lifecycle rules: loyal needs at least 2 orders, got %d", l.LoyalMinOrders)
	}
	return nil
}

// Stage classifies one customer. orders is the number of orders,
// daysSinceLast the days since the last one, avgGapDays the average days
// between their purchases (ignored with fewer than 2 orders), pAlive the
// BG/NBD P(alive) or a negative number / NaN when no model is fitted. Rules
// apply in this order: prospect, new, churned, declining, loyal, active.
func (l LifecycleRules) Stage(orders int, daysSinceLast, avgGapDays, pAlive float64) string {
	if orders <= 0 {
		return StageProspect
	}
	if orders == 1 && daysSinceLast <= l.NewWithinDays {
		return StageNew
	}
	gap := avgGapDays
	if orders < 2 || !(gap > 0) {
		gap = l.DefaultGapDays
	}
	known := pAlive >= 0 && !math.IsNaN(pAlive)
	if daysSinceLast > math.Max(l.ChurnGapMultiple*gap, l.ChurnFloorDays) || (known && pAlive < l.ChurnPAlive) {
		return StageChurned
	}
	if daysSinceLast > l.DeclineGapMultiple*gap || (known && pAlive < l.DeclinePAlive) {
		return StageDeclining
	}
	if orders >= l.LoyalMinOrders {
		return StageLoyal
	}
	return StageActive
}
