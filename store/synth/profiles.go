package synth

import (
	"iter"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
)

// Profiles yields n complete customer rows with ids i and external ids
// "c<i>" (i from 1), as the store holds them after purchases and an insights
// refresh: profile, purchase metrics (drawn from the same buying rhythm as
// Generate, without the purchase rows) and intelligence (RFM scores and
// segment, lifecycle, P(alive), expected purchases, CLV, spend windows). It is the cheap way
// to fill a table with millions of realistic customers for the benchmarks.
// Each step yields the same *store.Customer, overwritten. The same seed and
// now give the same rows.
func Profiles(n int, seed uint64, now time.Time) iter.Seq[*store.Customer] {
	return func(yield func(*store.Customer) bool) {
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		segments, stages := insights.DefaultSegmentMap(), insights.DefaultLifecycleRules()
		c := new(store.Customer)
		now := now.UTC()
		for i := 1; i <= n; i++ {
			in := profile(r, i, now)
			*c = store.Customer{
				ID: int64(i), ExternalID: in.ExternalID, Email: *in.Email, Phone: *in.Phone,
				FirstName: *in.FirstName, LastName: *in.LastName, Locale: *in.Locale, TimeZone: *in.TimeZone,
				Birthday: *in.Birthday, EmailConsent: *in.EmailConsent, SMSConsent: *in.SMSConsent,
				Tags: in.Tags, Attributes: in.Attributes, CreatedAt: now, UpdatedAt: now,
			}
			history(r, now, c)
			intelligence(c, now, segments, stages)
			c.NPS, c.CSAT = surveyAnswers(i)
			if !yield(c) {
				return
			}
		}
	}
}

// valueRule is value churn with a fixed floor of $30 (about the synthetic
// shop's median order) where a refresh takes the base's own median.
var valueRule = insights.ValueChurnRule{FloorCents: 30_00, Below: insights.DefaultValueChurnBelow}

// history sets the purchase metrics and the 90-day spend windows of the
// purchases drawPurchases draws, the ones Generate would write for the same
// random state.
func history(r *rand.Rand, now time.Time, c *store.Customer) {
	var w insights.ValueWindows
	drawPurchases(r, now, func(k int, at time.Time, _ product, _ int, cents int64) {
		if k == 1 {
			c.FirstPurchaseAt = at
		}
		c.OrdersCount, c.LastPurchaseAt = k, at
		c.TotalSpentCents += cents
		w.Add(at, now, cents)
	})
	c.Spend90dCents, c.SpendPrev90dCents, c.Orders90d = w.Spend90dCents, w.SpendPrev90dCents, w.Orders90d
	c.OrdersPrev90d, c.ValueTrend, c.ValueChurn = w.OrdersPrev90d, valueRule.Trend(w), valueRule.Churn(w)
	if c.OrdersCount > 1 {
		c.AvgDaysBetween = c.LastPurchaseAt.Sub(c.FirstPurchaseAt).Hours() / 24 / float64(c.OrdersCount-1)
	}
}

// intelligence scores the customer as an insights refresh would, with fixed
// quintile bounds instead of the base's own (the base is synthetic anyway).
func intelligence(c *store.Customer, now time.Time, segments insights.SegmentMap, stages insights.LifecycleRules) {
	c.InsightsAt = now
	if c.OrdersCount == 0 {
		c.Lifecycle = stages.Stage(insights.StageInput{}, valueRule)
		c.NextPurchaseDays = insights.NoNextPurchase
		return
	}
	days := now.Sub(c.LastPurchaseAt).Hours() / 24
	gap := c.AvgDaysBetween
	if gap == 0 {
		gap = 90 // a typical repurchase gap stands in for one-order customers
	}
	gap = math.Max(gap, 1) // two orders on one day: a one-day rhythm, not a zero one
	c.RFMR = 6 - bucket(days, 30, 90, 180, 365)
	c.RFMF = bucket(float64(c.OrdersCount), 2, 3, 5, 10)
	c.RFMM = bucket(float64(c.TotalSpentCents)/100, 50, 150, 400, 1000)
	c.RFMSegment = segments.Segment(c.RFMR, c.RFMF, c.RFMM)
	c.PAlive = math.Exp(-days / (3 * gap))
	c.ExpectedPurchases90d = c.PAlive * 90 / gap
	c.CLV = c.ExpectedPurchases90d * float64(c.TotalSpentCents) / 100 / float64(c.OrdersCount) * 4
	// Fixed bounds stand in for the base's ABC cuts and a tiers file of
	// silver from $100 and gold from $500 (over all time: no window).
	c.ABC = [...]string{"C", "C", "B", "A"}[bucket(float64(c.TotalSpentCents)/100, 150, 400)]
	c.Tier = [...]string{"", "", "silver", "gold"}[bucket(float64(c.TotalSpentCents)/100, 100, 500)]
	c.NextPurchaseDays = insights.NextPurchaseDays(c.OrdersCount, c.AvgDaysBetween, days, 90)
	w := insights.ValueWindows{Spend90dCents: c.Spend90dCents, SpendPrev90dCents: c.SpendPrev90dCents,
		Orders90d: c.Orders90d, OrdersPrev90d: c.OrdersPrev90d}
	c.Lifecycle = stages.Stage(insights.StageInput{PurchaseDays: c.OrdersCount, DaysSinceFirst: now.Sub(c.FirstPurchaseAt).Hours() / 24,
		DaysSinceLast: days, Windows: w, PAlive: c.PAlive}, valueRule)
}

// bucket returns 1 for v below bounds[0], 2 below bounds[1], and so on up to
// len(bounds)+1.
func bucket(v float64, bounds ...float64) int {
	for i, b := range bounds {
		if v < b {
			return i + 1
		}
	}
	return len(bounds) + 1
}

// surveyAnswers are customer i's latest survey answers: one customer in five
// answered an NPS survey and one in seven a CSAT survey, the others never
// (-1). They are drawn from i, not from the random state, so adding them left
// every other drawn value as it was.
func surveyAnswers(i int) (nps, csat int) {
	nps, csat = -1, -1
	if i%5 == 0 {
		nps = (i / 5 * 7) % 11
	}
	if i%7 == 0 {
		csat = 1 + (i/7*3)%5
	}
	return nps, csat
}
