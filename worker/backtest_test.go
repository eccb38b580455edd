package worker

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestBacktestComputesTheBaseAsOfWithoutWriting seeds the hand base, stores
// live scores as of its clock, then backtests four weeks earlier: the live
// rows stay byte-identical, and a customer as the backtest shows it has the
// purchase metrics of the purchases up to then (worked out by hand for
// "champ") and the very scores a refresh as of that time stores.
func TestBacktestComputesTheBaseAsOfWithoutWriting(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, ids := refreshedHandBase(t, d)
			before := storetest.Dump(t, st, storetest.RefreshTables...)
			at := handNow.AddDate(0, 0, -28)
			bt, err := Backtest(ctx, st, at, InsightsOptions{Log: quiet()}, BacktestOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if after := storetest.Dump(t, st, storetest.RefreshTables...); after != before {
				t.Fatalf("the backtest changed live rows:\nbefore\n%s\nafter\n%s", before, after)
			}
			// champ bought every 7 days, 12 times, the last 2 days before
			// handNow (10:00 UTC, $80 each): days -79, -72, ..., -2. Four
			// weeks back, the purchases up to then are days -79 to -30: 8
			// orders, $640, a 7-day gap, last purchase 2 days before.
			champ := mustCustomer(t, st, ids["champ"])
			bt.Apply(champ)
			day := func(n int) time.Time { return time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).AddDate(0, 0, n) }
			if champ.OrdersCount != 8 || champ.TotalSpentCents != 64000 || champ.AvgDaysBetween != 7 ||
				!champ.FirstPurchaseAt.Equal(day(-79)) || !champ.LastPurchaseAt.Equal(day(-30)) {
				t.Errorf("champ as of %s: %d orders, %d cents, gap %g, first %s, last %s; want 8, 64000, 7, %s, %s",
					at, champ.OrdersCount, champ.TotalSpentCents, champ.AvgDaysBetween, champ.FirstPurchaseAt,
					champ.LastPurchaseAt, day(-79), day(-30))
			}
			if got := int(at.Sub(champ.LastPurchaseAt) / (24 * time.Hour)); got != 2 {
				t.Errorf("days since champ's last purchase as of %s = %d, want 2", at, got)
			}
			// A refresh as of the same time stores the same scores.
			if _, err := RefreshInsights(ctx, st, at, InsightsOptions{Log: quiet()}); err != nil {
				t.Fatal(err)
			}
			for ext, id := range ids {
				stored, shown := mustCustomer(t, st, id), mustCustomer(t, st, id)
				bt.Apply(shown)
				if shown.RFMR != stored.RFMR || shown.RFMF != stored.RFMF || shown.RFMM != stored.RFMM ||
					shown.RFMSegment != stored.RFMSegment || shown.Lifecycle != stored.Lifecycle ||
					shown.PAlive != stored.PAlive || shown.ExpectedPurchases90d != stored.ExpectedPurchases90d ||
					shown.CLV != stored.CLV || !shown.InsightsAt.Equal(stored.InsightsAt) {
					t.Errorf("%s: backtest shows %+v, a refresh as of %s stores %+v", ext, *shown, at, *stored)
				}
			}
		})
	}
}

// TestBacktestMetricsOnlyKeepsStoredScores: an audience whose rule reads no
// score backtests the purchase metrics alone, and the stored scores show
// through unchanged.
func TestBacktestMetricsOnlyKeepsStoredScores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, ids := refreshedHandBase(t, store.SQLite)
	at := handNow.AddDate(0, 0, -28)
	bt, err := Backtest(ctx, st, at, InsightsOptions{Log: quiet()}, BacktestOptions{MetricsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"champ", "newbie", "prospect"} {
		stored, shown := mustCustomer(t, st, ids[ext]), mustCustomer(t, st, ids[ext])
		bt.Apply(shown)
		if shown.Lifecycle != stored.Lifecycle || shown.PAlive != stored.PAlive || !shown.InsightsAt.Equal(stored.InsightsAt) {
			t.Errorf("%s: scores changed in a metrics-only backtest: %+v, stored %+v", ext, *shown, *stored)
		}
	}
	// newbie's one purchase was 10 days before handNow: none by then.
	newbie := mustCustomer(t, st, ids["newbie"])
	bt.Apply(newbie)
	if newbie.OrdersCount != 0 || !newbie.LastPurchaseAt.IsZero() || newbie.TotalSpentCents != 0 {
		t.Errorf("newbie as of %s: %d orders, last %s; want none", at, newbie.OrdersCount, newbie.LastPurchaseAt)
	}
}
