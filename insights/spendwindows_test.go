package insights

import (
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
	want := ValueWindows{Spend90dCents: 1 + 10 - 5, SpendPrev90dCents: 100 + 1000, Orders90d: 3}
	if w != want {
		t.Fatalf("windows %+v, want %+v", w, want)
	}
}
