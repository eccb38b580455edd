package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// seedLedger writes customers c1..c<n> and, for campaign "spring", rows
// of occurrences "2026-a" and "2026-b" each: every third customer's rows
// deferred to 08:xx or 09:xx UTC, the others sent; and one row of another
// campaign per customer.
func seedLedger(t *testing.T, st *store.Store, n int, now time.Time) {
	t.Helper()
	ctx := context.Background()
	var in []store.CustomerInput
	for i := 1; i <= n; i++ {
		in = append(in, store.CustomerInput{ExternalID: fmt.Sprintf("c%d", i), TimeZone: ptr("Europe/Paris")})
	}
	if _, err := st.UpsertCustomers(ctx, in); err != nil {
		t.Fatal(err)
	}
	var rows []store.NewDelivery
	for i := 1; i <= n; i++ {
		c, err := st.CustomerByExternalID(ctx, fmt.Sprintf("c%d", i))
		if err != nil {
			t.Fatal(err)
		}
		for _, occ := range []string{"2026-a", "2026-b"} {
			r := store.NewDelivery{CampaignID: "spring", CustomerID: c.ID, Occurrence: occ, Channel: "email", Status: store.StatusSent}
			if i%3 == 0 {
				r.Status, r.Error = store.StatusDeferred, "quiet hours"
				r.NotBefore = time.Date(2026, 12, 4, 8+i%2, i%60, 0, 0, time.UTC)
			}
			rows = append(rows, r)
		}
		rows = append(rows, store.NewDelivery{CampaignID: "other", CustomerID: c.ID, Occurrence: "x", Channel: "sms",
			Status: store.StatusDeferred, NotBefore: now.Add(time.Hour)})
	}
	if _, err := st.InsertDeliveries(ctx, rows, now); err != nil {
		t.Fatal(err)
	}
}

func TestListDeliveriesPagesFiltersAndCounts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			seedLedger(t, st, 30, now)

			// Pages of 7 walk the 60 rows once each, in key order.
			var seen []string
			q := store.LedgerQuery{CampaignID: "spring", Limit: 7}
			for {
				page, err := st.ListDeliveries(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page {
					seen = append(seen, e.ExternalID+"/"+e.Occurrence)
				}
				if len(page) < q.Limit {
					break
				}
				q.After = page[len(page)-1].Position()
			}
			if len(seen) != 60 || seen[0] != "c1/2026-a" || seen[1] != "c1/2026-b" || seen[59] != "c30/2026-b" {
				t.Fatalf("walked %d rows: %v", len(seen), seen)
			}

			deferred := store.LedgerQuery{CampaignID: "spring", Statuses: []store.Status{store.StatusDeferred}, Limit: 100}
			page, err := st.ListDeliveries(ctx, deferred)
			if err != nil || len(page) != 20 {
				t.Fatalf("deferred rows: %d, %v; want 20", len(page), err)
			}
			e := page[0]
			if e.ExternalID != "c3" || e.TimeZone != "Europe/Paris" || e.Reason != "quiet hours" || e.Channel != "email" ||
				e.NotBefore == nil || !e.NotBefore.Equal(time.Date(2026, 12, 4, 9, 3, 0, 0, time.UTC)) || e.SentAt != nil {
				t.Fatalf("first deferred row = %+v", e)
			}

			one := store.LedgerQuery{CampaignID: "spring", CustomerExternalID: "c7"}
			if page, err := st.ListDeliveries(ctx, one); err != nil || len(page) != 2 || page[0].ExternalID != "c7" {
				t.Fatalf("customer c7: %+v, %v; want its 2 rows", page, err)
			}
			if page, err := st.ListDeliveries(ctx, store.LedgerQuery{CampaignID: "spring", CustomerExternalID: "nobody"}); err != nil || len(page) != 0 {
				t.Fatalf("unknown customer: %+v, %v; want no rows", page, err)
			}

			for _, tc := range []struct {
				q          store.LedgerQuery
				most, want int
			}{
				{store.LedgerQuery{CampaignID: "spring"}, 1000, 60},
				{store.LedgerQuery{CampaignID: "spring"}, 25, 25},
				{deferred, 1000, 20},
				{store.LedgerQuery{CampaignID: "spring", After: store.LedgerPosition{CustomerID: page[0].CustomerID, Occurrence: "2026-a"}}, 1000, 55},
			} {
				if n, err := st.CountDeliveries(ctx, tc.q, tc.most); err != nil || n != tc.want {
					t.Errorf("count %+v up to %d = %d, %v; want %d", tc.q, tc.most, n, err, tc.want)
				}
			}
			_, err = st.ListDeliveries(ctx, store.LedgerQuery{CampaignID: "spring", Statuses: []store.Status{"defered"}})
			if err == nil || !strings.Contains(err.Error(), `unknown status "defered"; statuses are sent, failed, pending, deferred`) {
				t.Fatalf("misspelt status: err = %v", err)
			}
		})
	}
}

func TestDeferredByHourGroupsPlannedSends(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, d)
			seedLedger(t, st, 30, now)
			got, err := st.DeferredByHour(context.Background(), "spring")
			if err != nil {
				t.Fatal(err)
			}
			// Customers 3, 9, 15, 21, 27 (odd): 09:xx; 6, 12, 18, 24, 30: 08:xx; two rows each.
			want := []store.HourCount{{Hour: time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC), N: 10},
				{Hour: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC), N: 10}}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("deferred by hour = %v; want %v", got, want)
			}
		})
	}
}
