package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestBlockLostInACrashIsSettledUnknown: a worker that dies holding a block
// (some rows sent and their outcomes not yet written, the rest not sent)
// wrote nothing of it; the rows stay sending under the block's claim until
// the lease runs out, and the reconciler then settles every one as unknown,
// never as pending (no second send), unless the campaign opted into resend.
func TestBlockLostInACrashIsSettledUnknown(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			var rows []store.NewDelivery
			addrs := map[int64]string{}
			for i := range 4 {
				email := fmt.Sprintf("p%d@example.com", i)
				id := insertConsentCustomer(t, st, fmt.Sprintf("p%d", i), email, "")
				addrs[id] = email
				campaign := "news"
				if i == 3 {
					campaign = "resend" // opted into resending
				}
				rows = append(rows, store.NewDelivery{CampaignID: campaign, CustomerID: id, Occurrence: "1", Channel: "email", Status: store.StatusPending})
			}
			in, err := st.InsertDeliveries(ctx, rows, now)
			if err != nil || len(in) != 4 {
				t.Fatalf("insert: %v %v", in, err)
			}
			block := make([]store.BlockRow, len(in))
			for i, r := range in {
				block[i] = store.BlockRow{ID: r.ID, Check: store.Check{Address: addrs[r.CustomerID]}}
			}
			if res, err := st.SettleAndClaim(ctx, nil, "blk", block, now); err != nil || len(res.Claimed) != 4 {
				t.Fatalf("claim = %v, %v; want the 4 rows", res.Claimed, err)
			}
			// The crash: two rows sent, their outcomes parked and lost.

			const lease = 2 * time.Minute
			later := now.Add(lease / 2)
			if unknown, _, err := st.ExpireClaims(ctx, later.Add(-lease), []string{"resend"}, later); err != nil || unknown != 0 {
				t.Fatalf("expire within the lease = %d, %v; want 0", unknown, err)
			}
			after := now.Add(lease + time.Second)
			unknown, requeued, err := st.ExpireClaims(ctx, after.Add(-lease), []string{"resend"}, after)
			if err != nil || unknown != 3 || requeued != 1 {
				t.Fatalf("expire after the lease = %d unknown, %d requeued, %v; want 3, 1", unknown, requeued, err)
			}
			for i, r := range in {
				want := store.StatusUnknown
				if i == 3 {
					want = store.StatusPending
				}
				if got := delivery(t, st, r.ID); got.Status != want || got.SentAt != nil {
					t.Errorf("row %d after the lease = %s sent_at %v; want %s, no sent_at", i, got.Status, got.SentAt, want)
				}
			}
		})
	}
}
