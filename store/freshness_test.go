package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestMetricsOfMatchesTheStoredMetrics is the parity test of the backtest's
// purchase metrics: computed in Go from a customer's purchases they equal
// the columns the import's SQL recompute stores, on both databases, for
// prospects, one-order and many-order customers with uneven gaps and
// sub-second times.
func TestMetricsOfMatchesTheStoredMetrics(t *testing.T) {
	t.Parallel()
	base := time.Date(2025, 5, 3, 8, 15, 30, 123456000, time.UTC)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "prospect"}}); err != nil {
				t.Fatal(err)
			}
			var in []store.PurchaseInput
			for c := 1; c <= 6; c++ {
				for k := 0; k < c; k++ {
					at := base.Add(time.Duration(k*k*c) * 37 * time.Hour).Add(time.Duration(k) * time.Millisecond)
					in = append(in, store.PurchaseInput{OrderID: fmt.Sprintf("o%d-%d", c, k),
						CustomerExternalID: fmt.Sprintf("c%d", c), AmountCents: int64(1999*c + 7*k), OccurredAt: at})
				}
			}
			if _, err := st.UpsertPurchases(ctx, in); err != nil {
				t.Fatal(err)
			}
			n := 0
			err := st.StreamCustomerHistories(ctx, store.HistoryOptions{}, func(h *store.CustomerHistory) error {
				n++
				got := store.MetricsOf(h.Purchases)
				c, err := st.CustomerByID(ctx, h.ID)
				if err != nil {
					return err
				}
				want := store.PurchaseMetrics{OrdersCount: c.OrdersCount, TotalSpentCents: c.TotalSpentCents,
					FirstPurchaseAt: c.FirstPurchaseAt, LastPurchaseAt: c.LastPurchaseAt, AvgDaysBetween: c.AvgDaysBetween}
				if got.OrdersCount != want.OrdersCount || got.TotalSpentCents != want.TotalSpentCents ||
					!got.FirstPurchaseAt.Equal(want.FirstPurchaseAt) || !got.LastPurchaseAt.Equal(want.LastPurchaseAt) ||
					!nearly(got.AvgDaysBetween, want.AvgDaysBetween) {
					t.Errorf("customer %s: MetricsOf %+v, stored %+v", c.ExternalID, got, want)
				}
				return nil
			})
			if err != nil || n != 7 {
				t.Fatalf("streamed %d customers: %v", n, err)
			}
		})
	}
}

func nearly(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// TestInsightsFreshnessCounts counts customers never refreshed and those
// refreshed before the cut-off, within an id range, on both databases.
func TestInsightsFreshnessCounts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			var in []store.CustomerInput
			for i := 1; i <= 6; i++ {
				in = append(in, store.CustomerInput{ExternalID: fmt.Sprintf("c%d", i)})
			}
			if _, err := st.UpsertCustomers(ctx, in); err != nil {
				t.Fatal(err)
			}
			var rows []store.InsightRow
			for id, at := range map[int64]time.Time{1: now, 2: now.Add(-time.Hour), 3: now.Add(-72 * time.Hour), 4: now.Add(-49 * time.Hour)} {
				rows = append(rows, store.InsightRow{CustomerID: id, Lifecycle: "active", PAlive: 0.5, At: at})
			}
			if _, err := st.SaveInsights(ctx, rows); err != nil {
				t.Fatal(err)
			}
			f, err := st.InsightsFreshness(ctx, now.Add(-48*time.Hour), 0, 0)
			if err != nil || f != (store.InsightsFreshness{Customers: 6, Missing: 2, Stale: 2}) || f.Fine() {
				t.Fatalf("freshness = %+v, %v; want 6 customers, 2 missing, 2 stale", f, err)
			}
			f, err = st.InsightsFreshness(ctx, now.Add(-48*time.Hour), 0, 2)
			if err != nil || f != (store.InsightsFreshness{Customers: 2}) || !f.Fine() {
				t.Fatalf("freshness of ids 1-2 = %+v, %v; want 2 fine", f, err)
			}
		})
	}
}
