package store_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestBlockClaimAndSettle checks a block's claim and its grouped settle on
// each database: the claim keeps every check of the single claim in its
// statement (consent withdrawn and an address suppressed between the plan
// and the claim, a topic left, a row not yet due, past its deadline or
// already claimed), the rows that fail stay as they were, the confirmation
// of a double opt-in needs no consent, and the settle records only the rows
// still held under their token.
func TestBlockClaimAndSettle(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			const n = 9
			var rows []store.NewDelivery
			addrs := map[int64]string{}
			for i := range n {
				email := fmt.Sprintf("c%d@example.com", i)
				id := insertConsentCustomer(t, st, fmt.Sprintf("c%d", i), email, "")
				addrs[id] = email
				row := store.NewDelivery{CampaignID: "news", CustomerID: id, Occurrence: "1", Channel: "email", Status: store.StatusPending}
				switch i {
				case 5:
					row.Status, row.NotBefore = store.StatusDeferred, now.Add(time.Hour) // not due
				case 6:
					row.ExpiresAt = now.Add(-time.Minute) // past its deadline
				}
				rows = append(rows, row)
			}
			in, err := st.InsertDeliveries(ctx, rows, now)
			if err != nil || len(in) != n {
				t.Fatalf("insert: %v %v", in, err)
			}
			block := make([]store.BlockRow, n)
			for i, r := range in {
				block[i] = store.BlockRow{ID: r.ID, Check: store.Check{Address: addrs[r.CustomerID], Topic: "newsletter"}}
			}
			// Between the plan and the claim: customer 1 withdraws consent,
			// customer 2's address is suppressed, customer 3 leaves the
			// topic; customer 4 withdraws consent but the message asks for it.
			if err := st.SetConsent(ctx, in[1].CustomerID, "email", false, store.ConsentAdmin); err != nil {
				t.Fatal(err)
			}
			if err := st.Suppress(ctx, "email", addrs[in[2].CustomerID], store.SuppressUnsubscribe, in[2].CustomerID); err != nil {
				t.Fatal(err)
			}
			if err := st.SetTopic(ctx, in[3].CustomerID, "newsletter", false, store.ConsentPreferences); err != nil {
				t.Fatal(err)
			}
			if err := st.SetConsent(ctx, in[4].CustomerID, "email", false, store.ConsentAdmin); err != nil {
				t.Fatal(err)
			}
			block[4].Check.AskingConsent = true
			// Row 7 is claimed by another worker first.
			if _, err := st.ClaimForSend(ctx, in[7].ID, "other", addrs[in[7].CustomerID], now); err != nil {
				t.Fatal(err)
			}

			res, err := st.SettleAndClaim(ctx, nil, "blk", block, now)
			if err != nil {
				t.Fatal(err)
			}
			want := map[int64]int{in[0].ID: 1, in[4].ID: 1, in[8].ID: 1}
			if !maps.Equal(res.Claimed, want) || len(res.Recorded) != 0 {
				t.Fatalf("claimed %v, recorded %v; want %v (rows 0, 4, 8), nothing recorded", res.Claimed, res.Recorded, want)
			}
			for i, r := range in {
				got := delivery(t, st, r.ID)
				_, claimed := want[r.ID]
				switch {
				case claimed && (got.Status != store.StatusSending || *got.ClaimToken != "blk" || got.ClaimedAt == nil):
					t.Errorf("row %d = %s, want sending under blk", i, got.Status)
				case !claimed && i != 7 && got.Status != rows[i].Status:
					t.Errorf("row %d = %s, want left %s", i, got.Status, rows[i].Status)
				case i == 7 && *got.ClaimToken != "other":
					t.Errorf("row 7 claimed under %q, want still under the other worker's token", *got.ClaimToken)
				}
			}

			// The grouped settle: row 0 sent, row 4 failed, row 7 under a
			// token that is not its claim's (recorded nothing); the same
			// statement claims row 5 once it is due.
			later := now.Add(time.Hour)
			settle := []store.Outcome{
				{ID: in[0].ID, Token: "blk", Status: store.StatusSent, ProviderID: "m0@shop.test"},
				{ID: in[4].ID, Token: "blk", Status: store.StatusFailed, Error: "550 5.1.1"},
				{ID: in[7].ID, Token: "blk", Status: store.StatusSent},
			}
			res, err = st.SettleAndClaim(ctx, settle, "blk2", block[5:6], later)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(res.Recorded, map[int64]bool{in[0].ID: true, in[4].ID: true}) ||
				!maps.Equal(res.Claimed, map[int64]int{in[5].ID: 1}) {
				t.Fatalf("recorded %v, claimed %v; want rows 0 and 4 recorded, row 5 claimed", res.Recorded, res.Claimed)
			}
			r0 := delivery(t, st, in[0].ID)
			if r0.Status != store.StatusSent || r0.ProviderID != "m0@shop.test" || r0.SentAt == nil || !r0.SentAt.Equal(later) {
				t.Errorf("row 0 = %s %q sent_at %v; want sent with its provider id at %v", r0.Status, r0.ProviderID, r0.SentAt, later)
			}
			if r4 := delivery(t, st, in[4].ID); r4.Status != store.StatusFailed || r4.Error != "550 5.1.1" || r4.SentAt != nil {
				t.Errorf("row 4 = %s %q sent_at %v; want failed with its error, no sent_at", r4.Status, r4.Error, r4.SentAt)
			}
			if r7 := delivery(t, st, in[7].ID); r7.Status != store.StatusSending {
				t.Errorf("row 7 = %s after a settle under the wrong token, want still sending", r7.Status)
			}

			// A partial block given back unsent (a shutdown): pending again,
			// the attempt not counted; another token's rows are left alone.
			n2, err := st.ReleaseBlock(ctx, []int64{in[5].ID, in[7].ID, in[8].ID}, "blk", "interrupted", later)
			if err != nil || n2 != 1 {
				t.Fatalf("release = %d, %v; want 1 (row 8)", n2, err)
			}
			if r8 := delivery(t, st, in[8].ID); r8.Status != store.StatusPending || r8.ClaimToken != nil || r8.Attempts != 0 {
				t.Errorf("released row 8 = %s token %v attempts %d; want pending, no token, 0 attempts", r8.Status, r8.ClaimToken, r8.Attempts)
			}
			if r5 := delivery(t, st, in[5].ID); r5.Status != store.StatusSending {
				t.Errorf("row 5 = %s after a release under another token, want still sending", r5.Status)
			}

			// A block larger than SQLite's limit on variables is one statement.
			big := make([]store.BlockRow, 0, 40000)
			for i := range 40000 {
				big = append(big, store.BlockRow{ID: int64(1_000_000 + i)})
			}
			big = append(big, store.BlockRow{ID: in[8].ID})
			if res, err = st.SettleAndClaim(ctx, nil, "big", big, later); err != nil ||
				!slices.Equal(slices.Collect(maps.Keys(res.Claimed)), []int64{in[8].ID}) {
				t.Fatalf("big block claimed %v, %v; want row 8 alone", res.Claimed, err)
			}
		})
	}
}
