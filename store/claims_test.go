package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestFinishAndClaim checks the one-statement "record the last send, claim
// the next" against each database: the outcome is written and fenced by its
// token, the claim is as strict as ClaimForSend (consent, suppression, state),
// and a refused claim still records the outcome.
func TestFinishAndClaim(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			var rows []store.NewDelivery
			addrs := map[int64]string{}
			for i := 1; i <= 5; i++ {
				email := fmt.Sprintf("c%d@example.com", i)
				id := insertConsentCustomer(t, st, fmt.Sprintf("c%d", i), email, fmt.Sprintf("+3361234567%d", i))
				addrs[id] = email
				rows = append(rows, store.NewDelivery{CampaignID: "news", CustomerID: id, Occurrence: "1",
					Channel: "email", Status: store.StatusPending})
			}
			in, err := st.InsertDeliveries(ctx, rows, now)
			if err != nil || len(in) != 5 {
				t.Fatalf("insert: %v %v", in, err)
			}
			addr := func(i int) string { return addrs[in[i].CustomerID] }

			// The first claim of a batch has nothing to record.
			var pending store.PendingOutcome
			attempts, w, err := st.FinishAndClaim(ctx, &pending, in[0].ID, "t0", store.Check{Address: addr(0)}, now)
			if err != nil || attempts != 1 || w.Outcome != nil {
				t.Fatalf("first claim = %d, %+v, %v; want 1, nothing written, nil", attempts, w, err)
			}
			// Record row 0 as sent while claiming row 1.
			pending.Park(store.Outcome{ID: in[0].ID, Token: "t0", Status: store.StatusSent, ProviderID: "m0@shop.test"})
			attempts, w, err = st.FinishAndClaim(ctx, &pending, in[1].ID, "t1", store.Check{Address: addr(1)}, now.Add(time.Second))
			if err != nil || attempts != 1 || !w.Recorded || w.Outcome.ID != in[0].ID || pending.Held() != nil {
				t.Fatalf("finish 0 + claim 1 = %d, %+v, %v, still parked %v; want 1, row 0 recorded, nil, nothing parked",
					attempts, w, err, pending.Held())
			}
			r0 := delivery(t, st, in[0].ID)
			if r0.Status != store.StatusSent || r0.ProviderID != "m0@shop.test" || r0.SentAt == nil ||
				!r0.SentAt.Equal(now.Add(time.Second)) {
				t.Fatalf("row 0 = %s %q sent_at %v; want sent with its provider id at the claim time", r0.Status, r0.ProviderID, r0.SentAt)
			}
			if r1 := delivery(t, st, in[1].ID); r1.Status != store.StatusSending || *r1.ClaimToken != "t1" || r1.Attempts != 1 {
				t.Fatalf("row 1 = %s token %v attempts %d; want sending under t1, 1 attempt", r1.Status, r1.ClaimToken, r1.Attempts)
			}
			// The same row cannot be claimed twice, and a wrong token records nothing.
			pending.Park(store.Outcome{ID: in[1].ID, Token: "not-t1", Status: store.StatusSent})
			if _, w, err = st.FinishAndClaim(ctx, &pending, in[0].ID, "again", store.Check{Address: addr(0)}, now); !errors.Is(err, store.ErrNotClaimable) || !w.TakenOver() {
				t.Fatalf("stale finish + claim of a sent row = %+v, %v; want taken over, ErrNotClaimable", w, err)
			}
			if r1 := delivery(t, st, in[1].ID); r1.Status != store.StatusSending {
				t.Fatalf("row 1 after a stale token = %s, want still sending", r1.Status)
			}
			// A suppressed address refuses the claim; the outcome is recorded all the same.
			if err := st.Suppress(ctx, "email", addr(2), store.SuppressUnsubscribe, in[2].CustomerID); err != nil {
				t.Fatal(err)
			}
			pending.Park(store.Outcome{ID: in[1].ID, Token: "t1", Status: store.StatusFailed, Error: "550 5.1.1"})
			if _, w, err = st.FinishAndClaim(ctx, &pending, in[2].ID, "t2", store.Check{Address: addr(2)}, now); !errors.Is(err, store.ErrNotClaimable) || !w.Recorded {
				t.Fatalf("claim of a suppressed address = %+v, %v; want recorded, ErrNotClaimable", w, err)
			}
			if r1 := delivery(t, st, in[1].ID); r1.Status != store.StatusFailed || r1.Error != "550 5.1.1" || r1.SentAt != nil {
				t.Fatalf("row 1 = %s %q sent_at %v; want failed with the error, no sent_at", r1.Status, r1.Error, r1.SentAt)
			}
			if r2 := delivery(t, st, in[2].ID); r2.Status != store.StatusPending {
				t.Fatalf("suppressed row 2 = %s, want still pending (the worker settles it)", r2.Status)
			}
			// Withdrawn consent refuses the claim too; not due yet as well.
			if err := st.SetConsent(ctx, in[3].CustomerID, "email", false, store.ConsentAdmin); err != nil {
				t.Fatal(err)
			}
			if _, _, err = st.FinishAndClaim(ctx, &pending, in[3].ID, "t3", store.Check{Address: addr(3)}, now); !errors.Is(err, store.ErrNotClaimable) {
				t.Fatalf("claim without consent = %v, want ErrNotClaimable", err)
			}
			if err := st.Defer(ctx, in[4].ID, now.Add(time.Hour), "quiet hours", now); err != nil {
				t.Fatal(err)
			}
			if _, _, err = st.FinishAndClaim(ctx, &pending, in[4].ID, "t4", store.Check{Address: addr(4)}, now); !errors.Is(err, store.ErrNotClaimable) {
				t.Fatalf("claim before not_before = %v, want ErrNotClaimable", err)
			}
			if attempts, _, err = st.FinishAndClaim(ctx, &pending, in[4].ID, "t4", store.Check{Address: addr(4)}, now.Add(time.Hour)); err != nil || attempts != 1 {
				t.Fatalf("claim when due = %d, %v; want 1, nil", attempts, err)
			}
		})
	}
}

func delivery(t *testing.T, st *store.Store, id int64) *store.Delivery {
	t.Helper()
	d, err := st.Delivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
