package insights

import "time"

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
	}
}
