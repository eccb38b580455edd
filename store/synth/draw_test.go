package synth

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestPurchasesStayInTheirTwoYears: every customer's purchases, over a
// million customers' draws, fall in the two years before now, oldest first:
// a buyer whose next wait is longer than a Duration holds stops buying, as
// one whose next purchase falls after now does, instead of overflowing into
// the past.
func TestPurchasesStayInTheirTwoYears(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	n := 1_000_000
	if testing.Short() {
		n = 200_000
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		var last time.Time
		drawPurchases(r, now, func(k int, at time.Time, _ product, _ int, _ int64) {
			if at.Before(now.AddDate(0, 0, -acquireDays-1)) || at.After(now) || at.Before(last) {
				t.Fatalf("customer %d purchase %d at %v: outside the two years before %v, or before the previous %v", i, k, at, now, last)
			}
			last = at
		})
	}
}
