package insights

import (
	"math"
	"slices"
	"testing"
)

func TestLifecycleStage(t *testing.T) {
	l := DefaultLifecycleRules()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	cases := []struct {
		name      string
		orders    int
		days, gap float64
		pAlive    float64
		want      string
	}{
		{"no orders", 0, 0, 0, nan, StageProspect},
		{"first order last month", 1, 30, 0, nan, StageNew},
		{"new wins over a low P(alive)", 1, 30, 0, 0.01, StageNew},
		{"one order, within 1.5x the 90-day stand-in", 1, 100, 0, nan, StageActive},
		{"one order, past 1.5x stand-in gap", 1, 200, 0, nan, StageDeclining},
		{"one order, past 3x stand-in gap", 1, 300, 0, nan, StageChurned},
		{"monthly buyer on rhythm", 3, 40, 30, nan, StageActive},
		{"monthly buyer late", 3, 50, 30, nan, StageDeclining},
		{"monthly buyer, 100 days: floor of 180 not reached", 3, 100, 30, nan, StageDeclining},
		{"monthly buyer gone", 3, 200, 30, nan, StageChurned},
		{"slow buyer: own gap 100, 250 days is only declining", 3, 250, 100, nan, StageDeclining},
		{"frequent and recent", 6, 10, 20, nan, StageLoyal},
		{"frequent but late", 6, 31, 20, nan, StageDeclining},
		{"frequent, recent, P(alive) falling", 6, 10, 20, 0.4, StageDeclining},
		{"frequent, recent, P(alive) collapsed", 6, 10, 20, 0.1, StageChurned},
		{"unknown P(alive) as -1", 6, 10, 20, -1, StageLoyal},
	}
	for _, c := range cases {
		if got := l.Stage(c.orders, c.days, c.gap, c.pAlive); got != c.want {
			t.Errorf("%s: Stage(%d, %g, %g, %g) = %s, want %s", c.name, c.orders, c.days, c.gap, c.pAlive, got, c.want)
		}
	}
	bad := []LifecycleRules{
		{},
		func() LifecycleRules { r := DefaultLifecycleRules(); r.ChurnGapMultiple = 1; return r }(),
		func() LifecycleRules { r := DefaultLifecycleRules(); r.ChurnPAlive = 0.9; return r }(),
		func() LifecycleRules { r := DefaultLifecycleRules(); r.LoyalMinOrders = 1; return r }(),
	}
	for i, r := range bad {
		if r.Validate() == nil {
			t.Errorf("bad rules %d accepted: %+v", i, r)
		}
	}
}

// Rules reject a stage not in Stages, so Stages must hold every stage
// Stage can return.
func TestStagesListsEveryStageStageReturns(t *testing.T) {
	l := DefaultLifecycleRules()
	seen := map[string]bool{}
	for orders := 0; orders <= 8; orders++ {
		for days := 0.0; days <= 400; days += 10 {
			for _, pAlive := range []float64{-1, 0.1, 0.3, 0.9} {
				seen[l.Stage(orders, days, 30, pAlive)] = true
			}
		}
	}
	if len(seen) != len(Stages()) {
		t.Errorf("Stage returned %d stages, Stages lists %d", len(seen), len(Stages()))
	}
	for stage := range seen {
		if !slices.Contains(Stages(), stage) {
			t.Errorf("Stage returned %q, missing from Stages()", stage)
		}
	}
}
