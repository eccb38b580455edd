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
