package worker

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// valueChurnYAML targets value churn: a customer still buying, but spending
// less than half of what they spent in the 90 days before.
const valueChurnYAML = `id: value-churn
name: Value churn
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: orders_90d > 0 && spend_prev_90d >= 100 && spend_90d < spend_prev_90d / 2
channels: [email]
messages: {email: {subject: "We noticed", text: "{{ .spend_90d }} against {{ .spend_prev_90d }}"}}
`

// TestRefreshStoresValueWindows: on both databases the refresh stores each
// hand customer's spend and orders of the latest 90 days and of the 90 days
// before, worked out by hand; a backtest four weeks back shows them as of
// then; and a value-churn rule, streamed lean, finds the one customer who
// still buys but spends far less, not the one who stopped.
func TestRefreshStoresValueWindows(t *testing.T) {
	t.Parallel()
	type windows struct {
		spend, prev int64
		orders      int
	}
	shown := func(c *store.Customer) windows { return windows{c.Spend90dCents, c.SpendPrev90dCents, c.Orders90d} }
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, ids := refreshedHandBase(t, d)
			// handNow is 12:00 and every purchase 10:00: the latest window
			// holds the purchases of days -89 to 0, the one before days -179
			// to -90.
			for ext, want := range map[string]windows{
				"champ":     {960_00, 0, 12},           // $80 weekly, days -79 to -2
				"declining": {40_00, 120_00, 1},        // $40 monthly, days -210 to -60: -60 | -150, -120, -90
				"fading":    {0, 250_00, 0},            // $25 weekly, days -163 to -100
				"newbie":    {30_00, 0, 1},             // day -10
				"prospect":  {0, 0, 0},                 // no purchase
				"filler-03": {2 * 31_00, 2 * 31_00, 2}, // $31 every 20 days, days -125 to -65
			} {
				if got := shown(mustCustomer(t, st, ids[ext])); got != want {
					t.Errorf("%s: stored spend_90d, spend_prev_90d, orders_90d %+v, want %+v", ext, got, want)
				}
			}
			// Value churn: the floor is the median of the 20 buyers' average
			// orders ($59 and $66: $62.50). declining still buys and spends a
			// third of a baseline above the floor; fading stopped (count
			// churn); newbie and champ have no baseline.
			type trend struct {
				prevOrders int
				trend      float64
				churn      bool
			}
			for ext, want := range map[string]trend{
				"declining": {3, 40.0 / 120, true},
				"fading":    {10, 0, false},
				"newbie":    {0, 30 / 62.5, false},
				"champ":     {0, 960 / 62.5, false},
				"prospect":  {0, 1, false},
				"filler-03": {2, 62 / 62.5, false},
			} {
				c := mustCustomer(t, st, ids[ext])
				if got := (trend{c.OrdersPrev90d, c.ValueTrend, c.ValueChurn}); got.prevOrders != want.prevOrders ||
					math.Abs(got.trend-want.trend) > 1e-9 || got.churn != want.churn {
					t.Errorf("%s: stored orders_prev_90d, value_trend, value_churn %+v, want %+v", ext, got, want)
				}
			}
			// Four weeks back (day -28, 12:00): champ's days -79 to -30 all
			// in the latest window; fading's -114 to -100 in it, -163 to
			// -121 in the one before.
			bt, err := Backtest(ctx, st, handNow.AddDate(0, 0, -28), InsightsOptions{Log: quiet()}, BacktestOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for ext, want := range map[string]windows{"champ": {640_00, 0, 8}, "fading": {75_00, 175_00, 3}} {
				c := mustCustomer(t, st, ids[ext])
				bt.Apply(c)
				if got := shown(c); got != want {
					t.Errorf("%s four weeks back: %+v, want %+v", ext, got, want)
				}
			}
			c, problems := campaigns.Parse("value-churn.yaml", []byte(valueChurnYAML))
			if campaigns.HasErrors(problems) {
				t.Fatal(problems)
			}
			var got []int64 // a lean stream reads no external id
			stats, err := Audience(ctx, st, c, AudienceOptions{Now: handNow, DefaultLoc: time.UTC, Lean: true},
				func(_ *rules.Env, cust *store.Customer) error {
					got = append(got, cust.ID)
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if want := []int64{ids["declining"]}; !slices.Equal(got, want) {
				t.Errorf("value churn matches ids %v, want %v (declining; %+v)", got, want, stats)
			}
		})
	}
}

// refreshedHandBase is a store of dialect d holding the hand base, refreshed
// as of handNow, and its ids by external id.
func refreshedHandBase(t *testing.T, d store.Dialect) (*store.Store, map[string]int64) {
	t.Helper()
	st := storetest.Open(t, d)
	ids := seedHandBase(t, st)
	if _, err := RefreshInsights(context.Background(), st, handNow, InsightsOptions{Log: quiet()}); err != nil {
		t.Fatal(err)
	}
	return st, ids
}
