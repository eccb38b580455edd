package insights

import (
	"fmt"
	"slices"
	"time"
)

// ValueWindow is the length of the windows ValueWindows sums over.
const ValueWindow = 90 * 24 * time.Hour

// ValueWindows are a customer's spend and orders over the latest
// ValueWindow before a clock and the one before it: the inputs of value
// churn, a customer who keeps buying but spends far less, which recency,
// frequency and P(alive) do not show. Windows are half-open, (now - 90
// days, now] and (now - 180 days, now - 90 days], in exact days of 24
// hours. Money is in cents; a refund (a negative amount) lowers its
// window's spend and still counts as an order, as in the purchase metrics.
type ValueWindows struct {
	Spend90dCents     int64 // the latest window
	SpendPrev90dCents int64 // the one before
	Orders90d         int   // orders of the latest window
	OrdersPrev90d     int   // orders of the one before
}

// Add counts a purchase of cents at at, as of now; purchases after now or
// older than both windows count nowhere.
func (w *ValueWindows) Add(at, now time.Time, cents int64) {
	switch age := now.Sub(at); {
	case age < 0 || age >= 2*ValueWindow:
	case age < ValueWindow:
		w.Spend90dCents += cents
		w.Orders90d++
	default:
		w.SpendPrev90dCents += cents
		w.OrdersPrev90d++
	}
}

// ValueChurnRule defines value_trend and value_churn (docs/intelligence.md):
//
//	value_trend = spend_90d / max(spend_prev_90d, floor)   (1 when neither window has spend)
//	value_churn = orders_90d >= 1 && spend_prev_90d >= floor && value_trend < Below
//
// The floor keeps a small earlier window (one cheap order) from making a
// large ratio out of noise; value churn needs a baseline worth losing and a
// customer still buying (one who stopped is count churn: p_alive, lifecycle).
type ValueChurnRule struct {
	// FloorCents is the smallest earlier-window spend that counts as a
	// baseline, in cents (> 0). The refresh's default is the base's median
	// order value (DefaultValueFloorCents).
	FloorCents int64
	// Below is the trend under which a customer still buying is value churn
	// (default 0.5: spend at least halved).
	Below float64
}

// DefaultValueChurnBelow is ValueChurnRule.Below's default: spend halved.
const DefaultValueChurnBelow = 0.5

// Validate reports a rule that cannot be applied.
func (r ValueChurnRule) Validate() error {
	if r.FloorCents <= 0 || !(r.Below > 0) {
		return fmt.Errorf("insights: value churn: want a floor > 0 (got %d cents) and a trend threshold > 0 (got %g)",
			r.FloorCents, r.Below)
	}
	return nil
}

// Trend is value_trend: the latest window's spend over the earlier one's,
// the earlier one floored at r.FloorCents; 1 when neither window has spend.
// Refunds can make a window's spend negative: it then counts as 0.
func (r ValueChurnRule) Trend(w ValueWindows) float64 {
	cur, prev := max(w.Spend90dCents, 0), max(w.SpendPrev90dCents, 0)
	if cur == 0 && prev == 0 {
		return 1
	}
	return float64(cur) / float64(max(prev, r.FloorCents, 1))
}

// Churn is value_churn: still buying (an order in the latest window), from
// a baseline of at least the floor, at a trend below r.Below.
func (r ValueChurnRule) Churn(w ValueWindows) bool {
	return w.Orders90d >= 1 && w.SpendPrev90dCents >= r.FloorCents && r.Trend(w) < r.Below
}

// DefaultValueFloorCents is the default floor of value_trend: the median of
// the buyers' average order values (aovCents, one per buyer; reordered), at
// least one cent. It scales with the shop's prices, so the default means
// "at least one typical order" whatever the currency.
func DefaultValueFloorCents(aovCents []float64) int64 {
	if len(aovCents) == 0 {
		return 1
	}
	m := median(aovCents)
	return max(int64(m+0.5), 1)
}

// median sorts v and returns its middle value (the mean of the two middle
// ones for an even count).
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
