package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestLedgerRowPastItsDeadlineIsNotClaimable checks the late-send deadline
// on both databases: a row keeps its expires_at, cannot be claimed after it
// (the claim statement itself refuses, whatever the caller checked), can be
// before, and settles with its own status, expired, which the ledger's
// status check accepts.
func TestLedgerRowPastItsDeadlineIsNotClaimable(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			now := time.Date(2026, 3, 5, 22, 0, 0, 0, time.UTC)
			deadline := time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)
			var rows []store.NewDelivery
			for i, ext := range []string{"late", "in-time", "no-limit"} {
				id := insertConsentCustomer(t, st, ext, ext+"@example.com", "+3361234567"+string(rune('0'+i)))
				row := store.NewDelivery{CampaignID: "bday", CustomerID: id, Occurrence: "2026", Channel: "email",
					Status: store.StatusPending}
				if ext != "no-limit" {
					row.ExpiresAt = deadline
				}
				rows = append(rows, row)
			}
			in, err := st.InsertDeliveries(ctx, rows, now)
			if err != nil || len(in) != 3 {
				t.Fatalf("insert: %v %v", in, err)
			}
			if got := delivery(t, st, in[0].ID).ExpiresAt; got == nil || !got.Equal(deadline) {
				t.Fatalf("expires_at read back as %v, want %s", got, deadline)
			}
			if got := delivery(t, st, in[2].ID).ExpiresAt; got != nil {
				t.Fatalf("a row without a deadline reads back expires_at %v", got)
			}
			after := deadline.Add(time.Minute)
			if _, err := st.ClaimForSend(ctx, in[0].ID, "t0", "late@example.com", after); !errors.Is(err, store.ErrNotClaimable) {
				t.Fatalf("claim past the deadline: %v, want ErrNotClaimable", err)
			}
			if _, err := st.ClaimForSend(ctx, in[1].ID, "t1", "in-time@example.com", deadline); err != nil {
				t.Fatalf("claim at the deadline: %v", err)
			}
			if _, err := st.ClaimForSend(ctx, in[2].ID, "t2", "no-limit@example.com", after.AddDate(1, 0, 0)); err != nil {
				t.Fatalf("claim of a row without a deadline a year later: %v", err)
			}
			ok, err := st.SetWaitingStatus(ctx, in[0].ID, store.StatusExpired, "late: past its deadline", after)
			if err != nil || !ok {
				t.Fatalf("settle as expired: %v, %v", ok, err)
			}
			r := delivery(t, st, in[0].ID)
			if r.Status != store.StatusExpired || r.Error != "late: past its deadline" || r.Attempts != 0 {
				t.Fatalf("expired row: %s %q, %d attempts", r.Status, r.Error, r.Attempts)
			}
			counts, err := st.CampaignCounts(ctx, "bday")
			if err != nil || counts[store.StatusExpired] != 1 || counts[store.StatusSending] != 2 {
				t.Fatalf("counts %v, %v; want 1 expired, 2 sending", counts, err)
			}
		})
	}
}
