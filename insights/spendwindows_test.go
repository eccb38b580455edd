package insights

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestValueWindowsEdges puts purchases on each side of both window edges.
func TestValueWindowsEdges(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	var w ValueWindows
	for _, p := range []struct {
		ago   time.Duration
		cents int64
	}{
		{0, 1},                        // at the clock: latest window
		{90*day - time.Second, 10},    // just inside the latest window
		{90 * day, 100},               // on its edge: the window before
		{180*day - time.Second, 1000}, // just inside the window before
		{180 * day, 10000},            // on its edge: neither
		{-time.Hour, 100000},          // after the clock: neither
		{30 * day, -5},                // a refund: lowers the spend, still an order
	} {
		w.Add(now.Add(-p.ago), now, p.cents)
	}
	want := ValueWindows{Spend90dCents: 1 + 10 - 5, SpendPrev90dCents: 100 + 1000, Orders90d: 3, OrdersPrev90d: 2}
	if w != want {
		t.Fatalf("windows %+v, want %+v", w, want)
	}
}

// TestValueChurnOnGeneratedBase draws a base with a known truth: steady
// buyers (a purchase every 5-15 days, a few days' jitter, amounts within
// 10% of their own level), collapsing buyers (the same, but in the latest
// 90 days each order is 10-40% of their level: they keep buying, they spend
// far less), buyers who stopped 100-170 days ago (count churn, not value
// churn) and small buyers (an order of $5-20 every 95 days: no baseline). Every
// collapse is flagged, nobody else is.
func TestValueChurnOnGeneratedBase(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(18, 2026))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	rule := ValueChurnRule{FloorCents: 25_00, Below: DefaultValueChurnBelow}
	const perKind = 2000
	flagged := map[string]int{}
	for _, kind := range []string{"steady", "collapse", "stopped", "small"} {
		for range perKind {
			level := 30 + rng.Float64()*170 // dollars per order
			gap := 5 + rng.Float64()*10
			if kind == "small" {
				gap = 95 // one order a window at most
			}
			var w ValueWindows
			for ago := 360.0; ago >= 0; ago -= gap {
				at := now.Add(-time.Duration((ago + rng.Float64()*3) * float64(day)))
				amount := level * (0.9 + 0.2*rng.Float64())
				switch {
				case kind == "collapse" && now.Sub(at) < ValueWindow:
					amount = level * (0.1 + 0.3*rng.Float64())
				case kind == "stopped" && ago < 100+rng.Float64()*70:
					continue
				case kind == "small":
					amount = 5 + 15*rng.Float64()
				}
				w.Add(at, now, int64(amount*100))
			}
			if rule.Churn(w) {
				flagged[kind]++
			}
		}
	}
	t.Logf("flagged of %d each: %v", perKind, flagged)
	if flagged["collapse"] != perKind {
		t.Errorf("%d of %d collapsing buyers flagged, want all", flagged["collapse"], perKind)
	}
	for _, kind := range []string{"steady", "stopped", "small"} {
		if flagged[kind] != 0 {
			t.Errorf("%d %s buyers flagged value churn, want none", flagged[kind], kind)
		}
	}
}

// TestValueTrendDefinition works the documented definition by hand.
func TestValueTrendDefinition(t *testing.T) {
	t.Parallel()
	rule := ValueChurnRule{FloorCents: 25_00, Below: 0.5}
	for _, c := range []struct {
		w     ValueWindows
		trend float64
		churn bool
	}{
		{ValueWindows{}, 1, false},                                     // no spend in either window: flat
		{ValueWindows{0, 100_00, 0, 2}, 0, false},                      // stopped: count churn, not value churn
		{ValueWindows{40_00, 100_00, 1, 2}, 0.4, true},                 // still buying, spend fell to 40%
		{ValueWindows{50_00, 100_00, 1, 2}, 0.5, false},                // exactly halved: not below 0.5
		{ValueWindows{5_00, 20_00, 1, 1}, 0.2, false},                  // baseline under the floor: 5 / 25
		{ValueWindows{100_00, 0, 2, 0}, 4, false},                      // new spend against the floor
		{ValueWindows{-10_00, 100_00, 1, 2}, 0, true},                  // a refund: counts as 0
		{ValueWindows{30_00, 25_00, 1, 1}, 1.2, false},                 // baseline on the floor
		{ValueWindows{10_00, 25_00, 1, 1}, 0.4, true},                  // and fallen from it
		{ValueWindows{Spend90dCents: 10_00, Orders90d: 1}, 0.4, false}, // no baseline at all
	} {
		if got := rule.Trend(c.w); math.Abs(got-c.trend) > 1e-12 || rule.Churn(c.w) != c.churn {
			t.Errorf("%+v: trend %g churn %v, want %g %v", c.w, got, rule.Churn(c.w), c.trend, c.churn)
		}
	}
	if err := (ValueChurnRule{Below: 0.5}).Validate(); err == nil {
		t.Error("a zero floor is accepted")
	}
	if got := DefaultValueFloorCents([]float64{10_00, 40_00, 20_00, 30_00}); got != 25_00 {
		t.Errorf("default floor %d, want the median 2500", got)
	}
}
