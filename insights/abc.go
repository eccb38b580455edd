package insights

import (
	"math"
	"slices"
)

// ABC is the 80/20 classification of customers by revenue: A are the
// customers who make the top 80% of revenue (often about a fifth of them),
// B the next 15%, C the rest. ABCCuts computes it over the base; Class
// classifies one customer.
type ABC struct {
	// ACents and BCents are the smallest spends of class A and B, in cents.
	// A base without revenue has both at MaxInt64: everyone is C.
	ACents, BCents int64
}

// ABCShares are the revenue shares closing class A and class B.
const (
	ABCShareA = 0.80
	ABCShareB = 0.95
)

// ABCCuts computes the cut points over the buyers' total spends (cents;
// reordered). A customer is A when the customers who spent strictly more
// than them make less than 80% of the revenue, B when they make less than
// 95%: equal spends always get the same class, whatever order ties come in.
// Zero and negative spends (refunds) count as no revenue.
func ABCCuts(spend []int64) ABC {
	cut := ABC{ACents: math.MaxInt64, BCents: math.MaxInt64}
	slices.SortFunc(spend, func(a, b int64) int { return int(min(max(b-a, -1), 1)) }) // largest first
	var total int64
	for _, v := range spend {
		total += max(v, 0)
	}
	if total <= 0 {
		return cut
	}
	var above int64 // revenue of the customers spending strictly more
	for i := 0; i < len(spend) && spend[i] > 0; {
		j := i
		for j < len(spend) && spend[j] == spend[i] {
			j++
		}
		share := float64(above) / float64(total)
		if share < ABCShareA {
			cut.ACents = spend[i]
		}
		if share < ABCShareB {
			cut.BCents = spend[i]
		}
		above += spend[i] * int64(j-i)
		i = j
	}
	return cut
}

// Class returns "A", "B" or "C" for a buyer who spent cents.
func (c ABC) Class(cents int64) string {
	switch {
	case cents > 0 && cents >= c.ACents:
		return "A"
	case cents > 0 && cents >= c.BCents:
		return "B"
	}
	return "C"
}

// NoNextPurchase is next_purchase_days for a customer without a purchase:
// no order is expected, so a rule such as next_purchase_days <= 7 never
// selects a prospect.
const NoNextPurchase = 99999

// NextPurchaseDays is the expected days from the clock to the customer's
// next purchase day, from their own rhythm: their average days between
// purchase days (gapDays, 0 with a single purchase day), or typicalGapDays
// (the base's median own gap) for a customer with one purchase day, minus
// the days since their latest one, rounded to whole days. Negative means
// overdue by that many days.
func NextPurchaseDays(purchaseDays int, gapDays, daysSinceLast, typicalGapDays float64) int {
	if purchaseDays <= 0 {
		return NoNextPurchase
	}
	gap := gapDays
	if purchaseDays < 2 || !(gap > 0) {
		gap = typicalGapDays
	}
	return int(math.Round(gap - daysSinceLast))
}

// MedianGapDays is the median of the repeat buyers' own gaps (reordered),
// the rhythm NextPurchaseDays lends one-time buyers; 0 without any.
func MedianGapDays(gaps []float64) float64 {
	if len(gaps) == 0 {
		return 0
	}
	return median(gaps)
}
