package synth_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/store/synth"
)

// TestEnsureProfilesRoundTrip fills both stores, reads every row back through
// the audience stream and compares it with what Profiles yields; a second
// call keeps the rows, a call for another size rewrites them.
func TestEnsureProfilesRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	const n = 500
	var want []store.Customer
	for c := range synth.Profiles(n, 7, now) {
		cp := *c
		cp.Tags = slices.Clone(c.Tags)
		cp.Attributes = maps.Clone(c.Attributes)
		want = append(want, cp)
	}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, d)
			if wrote, err := synth.EnsureProfiles(ctx, st, n, 7, now); err != nil || !wrote {
				t.Fatalf("first fill: wrote %v, %v", wrote, err)
			}
			i := 0
			err := st.StreamCustomers(ctx, func(c *store.Customer) error {
				w := want[i]
				i++
				if c.ID != w.ID || c.ExternalID != w.ExternalID || c.Email != w.Email || c.TimeZone != w.TimeZone ||
					!c.Birthday.Equal(w.Birthday) || c.EmailConsent != w.EmailConsent ||
					!slices.Equal(c.Tags, w.Tags) || c.Attributes["loyalty_tier"] != w.Attributes["loyalty_tier"] ||
					c.OrdersCount != w.OrdersCount || c.TotalSpentCents != w.TotalSpentCents ||
					!c.LastPurchaseAt.Equal(w.LastPurchaseAt) || c.RFMSegment != w.RFMSegment ||
					c.Lifecycle != w.Lifecycle || c.PAlive != w.PAlive || !c.InsightsAt.Equal(w.InsightsAt) {
					t.Fatalf("row %d read back as\n%+v\nwant\n%+v", i, *c, w)
				}
				return nil
			}, store.StreamOptions{PageSize: 128})
			if err != nil || i != n {
				t.Fatalf("streamed %d of %d: %v", i, n, err)
			}
			if wrote, err := synth.EnsureProfiles(ctx, st, n, 7, now); err != nil || wrote {
				t.Fatalf("second fill of the same size: wrote %v, %v; want the rows kept", wrote, err)
			}
			if wrote, err := synth.EnsureProfiles(ctx, st, n/2, 7, now); err != nil || !wrote {
				t.Fatalf("fill of another size: wrote %v, %v", wrote, err)
			}
			if got, err := st.CountCustomers(ctx); err != nil || got != n/2 {
				t.Fatalf("after refill: %d customers, %v; want %d", got, err, n/2)
			}
		})
	}
}

// TestProfilesArePlausible checks the mix a benchmark rule relies on: some
// lapsed repeat buyers, prospects without orders, segments and lifecycles
// filled exactly when there are orders.
func TestProfilesArePlausible(t *testing.T) {
	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	var prospects, lapsedRepeat, consent int
	segments := map[string]int{}
	for c := range synth.Profiles(20000, 1, now) {
		switch {
		case c.OrdersCount == 0:
			prospects++
			if c.RFMSegment != "" || c.Lifecycle != "prospect" || !c.LastPurchaseAt.IsZero() {
				t.Fatalf("prospect %s has %+v", c.ExternalID, *c)
			}
		case c.RFMSegment == "" || c.Lifecycle == "" || c.PAlive <= 0 || c.PAlive > 1 || c.LastPurchaseAt.After(now):
			t.Fatalf("buyer %s has %+v", c.ExternalID, *c)
		case c.OrdersCount >= 2 && now.Sub(c.LastPurchaseAt) > 90*24*time.Hour:
			lapsedRepeat++
		}
		if c.EmailConsent {
			consent++
		}
		segments[c.RFMSegment]++
	}
	if prospects < 2000 || prospects > 4000 || lapsedRepeat < 2000 || consent < 15000 || len(segments) < 8 {
		t.Fatalf("mix: %d prospects, %d lapsed repeat buyers, %d with consent, segments %v",
			prospects, lapsedRepeat, consent, segments)
	}
}

// TestEnsureHistoriesMatchProfiles fills customers and purchases on both
// stores: each customer's stored purchase metrics (from Profiles) are those
// of the purchases written for it (from Generate), and a second call keeps
// the rows.
func TestEnsureHistoriesMatchProfiles(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			if wrote, err := synth.EnsureHistories(ctx, st, 400, 3, now); err != nil || !wrote {
				t.Fatalf("first fill: wrote %v, %v", wrote, err)
			}
			buyers := 0
			err := st.StreamCustomerHistories(ctx, store.HistoryOptions{}, func(h *store.CustomerHistory) error {
				c, err := st.CustomerByID(ctx, h.ID)
				if err != nil {
					return err
				}
				m := store.MetricsOf(h.Purchases)
				if m.OrdersCount != c.OrdersCount || m.TotalSpentCents != c.TotalSpentCents ||
					!m.FirstPurchaseAt.Equal(c.FirstPurchaseAt) || !m.LastPurchaseAt.Equal(c.LastPurchaseAt) {
					t.Errorf("customer %s: purchases give %+v, the row holds %d orders, %d cents, %s - %s",
						c.ExternalID, m, c.OrdersCount, c.TotalSpentCents, c.FirstPurchaseAt, c.LastPurchaseAt)
				}
				if m.OrdersCount > 0 {
					buyers++
				}
				return nil
			})
			if err != nil || buyers < 300 {
				t.Fatalf("%d buyers of 400, %v", buyers, err)
			}
			if wrote, err := synth.EnsureHistories(ctx, st, 400, 3, now); err != nil || wrote {
				t.Fatalf("second fill: wrote %v, %v; want the rows kept", wrote, err)
			}
		})
	}
}

// TestEnsureProfilesRewritesAnOlderGeneratorsFill: a kept benchmark table
// whose rows an older generator drew (same size, same ids, other purchase
// metrics) is rewritten, so the benchmark's expected audience holds.
func TestEnsureProfilesRewritesAnOlderGeneratorsFill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	st := storetest.Open(t, store.SQLite)
	if _, err := synth.EnsureProfiles(ctx, st, 300, 9, now); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.Exec(`UPDATE customers SET total_spent_cents = total_spent_cents + 1 WHERE id <= 20`); err != nil {
		t.Fatal(err)
	}
	if wrote, err := synth.EnsureProfiles(ctx, st, 300, 9, now); err != nil || !wrote {
		t.Fatalf("fill over an older generator's rows: wrote %v, %v; want them rewritten", wrote, err)
	}
}
