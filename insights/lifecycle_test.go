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
	value := ValueChurnRule{FloorCents: 25_00, Below: DefaultValueChurnBelow}
	nan := math.NaN()
	steady := ValueWindows{Spend90dCents: 100_00, SpendPrev90dCents: 100_00, Orders90d: 2, OrdersPrev90d: 2}
	rising := ValueWindows{Spend90dCents: 200_00, SpendPrev90dCents: 100_00, Orders90d: 3, OrdersPrev90d: 2}
	halved := ValueWindows{Spend90dCents: 40_00, SpendPrev90dCents: 100_00, Orders90d: 1, OrdersPrev90d: 2}
	smallFall := ValueWindows{Spend90dCents: 5_00, SpendPrev90dCents: 20_00, Orders90d: 1, OrdersPrev90d: 1}
	fromNothing := ValueWindows{Spend90dCents: 60_00, Orders90d: 1}
	cases := []struct {
		name              string
		days              int
		first, last, pAlv float64
		w                 ValueWindows
		want              string
	}{
		{"no purchase", 0, 0, 0, nan, ValueWindows{}, StageProspect},
		{"first purchase last month", 1, 30, 30, nan, ValueWindows{Spend90dCents: 30_00, Orders90d: 1}, StageNew},
		{"new wins over a low P(alive)", 3, 80, 70, 0.01, steady, StageNew},
		{"P(alive) below 0.3 is churned", 5, 400, 20, 0.2, steady, StageChurned},
		{"unknown P(alive) never churns", 5, 400, 20, nan, steady, StageMature},
		{"one purchase day, past new: did not come back", 1, 120, 120, 0.9, ValueWindows{SpendPrev90dCents: 30_00, OrdersPrev90d: 1}, StageDeclining},
		{"one purchase day, silent 200 days: the model cannot see it lapse", 1, 200, 200, 1, ValueWindows{}, StageChurned},
		{"monthly buyer on rhythm, steady spend", 10, 300, 20, 0.95, steady, StageMature},
		{"monthly buyer, spend doubled", 10, 300, 5, 0.95, rising, StageGrowing},
		{"back after a quiet window, above 1.5x floor", 4, 400, 10, 0.8, fromNothing, StageGrowing},
		{"monthly buyer, spend halved while buying", 10, 300, 5, 0.9, halved, StageDeclining},
		{"fall from below the floor is noise", 10, 300, 5, 0.9, smallFall, StageMature},
		{"monthly buyer, 100 days silent", 10, 370, 100, 0.5, ValueWindows{}, StageDeclining},
		{"two close purchase days: the 90-day floor", 2, 200, 60, 0.9, ValueWindows{SpendPrev90dCents: 20_00, OrdersPrev90d: 1}, StageMature},
		{"slow buyer on rhythm: own gap 150 days", 3, 400, 100, 0.7, ValueWindows{}, StageMature},
		{"slow buyer past 1.5x own gap", 3, 400, 230, 0.4, ValueWindows{}, StageDeclining},
	}
	for _, c := range cases {
		in := StageInput{PurchaseDays: c.days, DaysSinceFirst: c.first, DaysSinceLast: c.last, Windows: c.w, PAlive: c.pAlv}
		if got := l.Stage(in, value); got != c.want {
			t.Errorf("%s: Stage(%+v) = %s, want %s", c.name, in, got, c.want)
		}
	}
	bad := []LifecycleRules{
		{},
		func() LifecycleRules { r := DefaultLifecycleRules(); r.GrowAbove = 0.4; return r }(),
		func() LifecycleRules { r := DefaultLifecycleRules(); r.ChurnPAlive = 1.5; return r }(),
		func() LifecycleRules { r := DefaultLifecycleRules(); r.DeclineGapMultiple = 0; return r }(),
		func() LifecycleRules { r := DefaultLifecycleRules(); r.NewWithinDays = -1; return r }(),
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
	value := ValueChurnRule{FloorCents: 25_00, Below: DefaultValueChurnBelow}
	seen := map[string]bool{}
	for days := 0; days <= 6; days++ {
		for first := 0.0; first <= 400; first += 40 {
			for last := 0.0; last <= first; last += 40 {
				for _, pAlive := range []float64{-1, 0.1, 0.5, 0.9} {
					for _, w := range []ValueWindows{{}, {Spend90dCents: 100_00, Orders90d: 1},
						{Spend90dCents: 10_00, SpendPrev90dCents: 100_00, Orders90d: 1}} {
						seen[l.Stage(StageInput{PurchaseDays: days, DaysSinceFirst: first, DaysSinceLast: last,
							Windows: w, PAlive: pAlive}, value)] = true
					}
				}
			}
		}
	}
	if len(seen) != len(Stages()) {
		t.Errorf("Stage returned %d stages %v, Stages lists %d", len(seen), seen, len(Stages()))
	}
	for stage := range seen {
		if !slices.Contains(Stages(), stage) {
			t.Errorf("Stage returned %q, missing from Stages()", stage)
		}
	}
}
