package insights

import (
	"strings"
	"testing"
	"time"
)

const tiersYAML = `measure: spend
window: 365d
grace: 90d
tiers:
  - {name: member, min: 0}
  - {name: silver, min: 100}
  - {name: gold, min: 500}
`

func TestTiersGraceAndWindow(t *testing.T) {
	tiers, err := ParseTiers([]byte(tiersYAML))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return now.AddDate(0, 0, -d) }
	cases := []struct {
		name string
		ps   []TierPurchase
		want string
	}{
		{"no purchase", nil, ""},
		{"below silver", []TierPurchase{{day(10), 99_99}}, "member"},
		{"silver exactly", []TierPurchase{{day(10), 100_00}}, "silver"},
		{"gold over the window", []TierPurchase{{day(300), 300_00}, {day(5), 250_00}}, "gold"},
		// 550 spent 400 and 330 days ago: gold until the first left the
		// window 35 days ago; within the grace of 90 days it stays gold.
		{"gold kept in grace", []TierPurchase{{day(400), 300_00}, {day(330), 250_00}}, "gold"},
		// The same purchases 100 days earlier: below gold for 135 days,
		// past the grace: silver (250 still in the window).
		{"grace over: down to silver", []TierPurchase{{day(500), 300_00}, {day(330), 250_00}}, "silver"},
		{"all out of the window and the grace", []TierPurchase{{day(600), 900_00}}, "member"},
		// A refund lowers the total: 600 - 200 = 400 is silver, and the
		// 600 alone before the refund (20 days ago) is gold in grace.
		{"refund within grace", []TierPurchase{{day(40), 600_00}, {day(20), -200_00}}, "gold"},
		{"refund before the grace", []TierPurchase{{day(200), 600_00}, {day(180), -200_00}}, "silver"},
	}
	for _, c := range cases {
		if got := tiers.Of(c.ps, now); got != c.want {
			t.Errorf("%s: tier %q, want %q", c.name, got, c.want)
		}
	}
	orders, err := ParseTiers([]byte("measure: orders\nwindow: 30d\ntiers: [{name: occasional, min: 0}, {name: regular, min: 3}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	three := []TierPurchase{{day(20), 1}, {day(10), 1}, {day(1), 1}}
	if got := orders.Of(three, now); got != "regular" {
		t.Errorf("3 orders in 30 days: %q, want regular", got)
	}
	if got := orders.Of(three[1:], now); got != "occasional" {
		t.Errorf("2 orders in 30 days, no grace: %q, want none", got)
	}
	if Direction(tiers.Names(), "", "silver") != "up" || Direction(tiers.Names(), "gold", "silver") != "down" ||
		Direction(tiers.Names(), "silver", "") != "down" {
		t.Error("Direction ranks tiers wrong")
	}
}

func TestParseTiersSaysWhatToWrite(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"tiers: []\n", "no tiers"},
		{"measure: visits\ntiers: [{name: a, min: 0}]\n", `measure "visits": use spend or orders`},
		{"window: 12m\ntiers: [{name: a, min: 0}]\n", `window "12m": write whole days such as 90d`},
		{"tiers: [{name: Gold, min: 0}]\n", `name "Gold": use lower_snake_case`},
		{"tiers: [{name: m, min: 0}, {name: gold, min: 500}, {name: silver, min: 100}]\n", "must be above gold's 500 (list tiers lowest first)"},
		{"tiers: [{name: m, min: 0}, {name: gold, min: 0}]\n", "tier gold: min must be > 0"},
		{"tiers: [{name: silver, min: 100}]\n", "the first tier (silver) is the entry tier every buyer has: give it min: 0"},
		{"tier: [{name: gold, min: 1}]\n", "field tier not found"},
	} {
		_, err := ParseTiers([]byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to say %q", c.src, err, c.want)
		}
	}
}

func TestABCCutsTheRevenue(t *testing.T) {
	// 10 customers: one spent 800, then nine of 25 (revenue 1,025).
	spend := []int64{25, 800, 25, 25, 25, 25, 25, 25, 25, 25}
	cut := ABCCuts(spend)
	// Above 800: 0% of revenue -> A. Above 25: 78% < 80% -> A too: ties
	// share a class.
	if cut.Class(800) != "A" || cut.Class(25) != "A" {
		t.Errorf("cuts %+v: 800 is %s, 25 is %s; want A, A", cut, cut.Class(800), cut.Class(25))
	}
	// A power law: 100 customers spending 10000/k cents.
	var base []int64
	var total int64
	for k := 1; k <= 100; k++ {
		base = append(base, 10000/int64(k))
		total += 10000 / int64(k)
	}
	cut = ABCCuts(append([]int64(nil), base...))
	var rev = map[string]int64{}
	n := map[string]int{}
	for _, v := range base {
		rev[cut.Class(v)] += v
		n[cut.Class(v)]++
	}
	// A holds the customers whose richer peers make < 80%: it reaches 80%
	// with its last member, and without it A would be under 80%.
	if share := float64(rev["A"]) / float64(total); share < ABCShareA || float64(rev["A"]-cut.ACents)/float64(total) >= ABCShareA {
		t.Errorf("A holds %.1f%% of revenue with %d customers (cut %d)", 100*share, n["A"], cut.ACents)
	}
	if share := float64(rev["A"]+rev["B"]) / float64(total); share < ABCShareB {
		t.Errorf("A and B hold %.1f%%, want at least 95%%", 100*share)
	}
	if n["A"]+n["B"]+n["C"] != 100 || n["C"] == 0 || n["A"] >= n["B"]+n["C"] {
		t.Errorf("classes %v", n)
	}
	if c := ABCCuts([]int64{0, -5}); c.Class(0) != "C" || c.Class(-5) != "C" {
		t.Errorf("a base without revenue: %+v", c)
	}
}

func TestNextPurchaseDays(t *testing.T) {
	for _, c := range []struct {
		days                int
		gap, since, typical float64
		want                int
	}{
		{0, 0, 0, 30, NoNextPurchase},
		{4, 30, 10, 45, 20},  // a monthly buyer 10 days after their last order
		{4, 30, 40, 45, -10}, // 10 days overdue
		{1, 0, 10, 45, 35},   // a one-time buyer takes the base's typical gap
		{2, 7.4, 0, 45, 7},
	} {
		if got := NextPurchaseDays(c.days, c.gap, c.since, c.typical); got != c.want {
			t.Errorf("NextPurchaseDays(%d, %g, %g, %g) = %d, want %d", c.days, c.gap, c.since, c.typical, got, c.want)
		}
	}
	if MedianGapDays(nil) != 0 || MedianGapDays([]float64{30, 10, 20}) != 20 {
		t.Error("MedianGapDays")
	}
}
