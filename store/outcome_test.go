package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// sendingRows writes n email rows for consenting customers and claims each
// under token "t<i>" at now, as the worker does before a send; it returns
// their ids.
func sendingRows(t *testing.T, st *store.Store, n int, now time.Time) []int64 {
	t.Helper()
	var rows []store.NewDelivery
	var addrs []string
	for i := range n {
		email := fmt.Sprintf("p%d@example.com", i)
		id := insertConsentCustomer(t, st, fmt.Sprintf("p%d", i), email, fmt.Sprintf("+3361234500%d", i))
		rows = append(rows, store.NewDelivery{CampaignID: "news", CustomerID: id, Occurrence: "1", Channel: "email", Status: store.StatusPending})
		addrs = append(addrs, email)
	}
	in, err := st.InsertDeliveries(context.Background(), rows, now)
	if err != nil || len(in) != n {
		t.Fatalf("insert: %v %v", in, err)
	}
	ids := make([]int64, n)
	for i, r := range in {
		storetest.Claim(t, st, r.ID, fmt.Sprint("t", i), addrs[i], now)
		ids[i] = r.ID
	}
	return ids
}

// onSendingRows runs test on each database, in parallel, over n email rows
// for consenting customers, each claimed under token "t<i>" at now as the
// worker does before a send.
func onSendingRows(t *testing.T, n int, test func(t *testing.T, st *store.Store, now time.Time, ids []int64)) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, d)
			now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			test(t, st, now, sendingRows(t, st, n, now))
		})
	}
}

// TestParkedOutcomeIsFlushedWhenNoClaimFollows: the outcome of the batch's
// last send has no next claim to ride on, so FlushOutcome writes it with a
// statement of its own, fenced by its token, and empties the parking.
func TestParkedOutcomeIsFlushedWhenNoClaimFollows(t *testing.T) {
	onSendingRows(t, 2, func(t *testing.T, st *store.Store, now time.Time, ids []int64) {
		ctx := context.Background()

		var pending store.PendingOutcome
		if w, err := st.FlushOutcome(ctx, &pending, now); err != nil || w.Outcome != nil {
			t.Fatalf("flush of nothing = %+v, %v; want nothing written", w, err)
		}
		pending.Park(store.Outcome{ID: ids[0], Token: "t0", Status: store.StatusSent, ProviderID: "m0@shop.test"})
		w, err := st.FlushOutcome(ctx, &pending, now.Add(time.Second))
		if err != nil || !w.Recorded || w.Outcome.ID != ids[0] || pending.Held() != nil {
			t.Fatalf("flush = %+v, %v, still parked %v; want row 0 recorded, nothing parked", w, err, pending.Held())
		}
		if r := delivery(t, st, ids[0]); r.Status != store.StatusSent || r.ProviderID != "m0@shop.test" ||
			r.SentAt == nil || !r.SentAt.Equal(now.Add(time.Second)) {
			t.Fatalf("row 0 = %s %q sent_at %v; want sent with its provider id at the flush time", r.Status, r.ProviderID, r.SentAt)
		}
		// A parked outcome whose claim was taken over changes nothing and says so.
		pending.Park(store.Outcome{ID: ids[1], Token: "not-t1", Status: store.StatusSent})
		if w, err = st.FlushOutcome(ctx, &pending, now); err != nil || !w.TakenOver() || pending.Held() != nil {
			t.Fatalf("flush under a stale token = %+v, %v; want taken over, nothing parked", w, err)
		}
		if r := delivery(t, st, ids[1]); r.Status != store.StatusSending {
			t.Fatalf("row 1 after a stale token = %s, want still sending", r.Status)
		}
	})
}

// TestParkedOutcomeSurvivesAFailedStatement: when the statement that should
// carry a parked outcome fails (here its context is cancelled), neither the
// claim nor the outcome is written, and the outcome stays parked for the
// flush at the end of the batch.
func TestParkedOutcomeSurvivesAFailedStatement(t *testing.T) {
	onSendingRows(t, 1, func(t *testing.T, st *store.Store, now time.Time, ids []int64) {
		next := insertConsentCustomer(t, st, "next", "next@example.com", "+33612349999")
		in, err := st.InsertDeliveries(context.Background(), []store.NewDelivery{{CampaignID: "news",
			CustomerID: next, Occurrence: "1", Channel: "email", Status: store.StatusPending}}, now)
		if err != nil || len(in) != 1 {
			t.Fatalf("insert: %v %v", in, err)
		}

		var pending store.PendingOutcome
		pending.Park(store.Outcome{ID: ids[0], Token: "t0", Status: store.StatusSent})
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := st.FinishAndClaim(cancelled, &pending, in[0].ID, "tn", store.Check{Address: "next@example.com"}, now); err == nil {
			t.Fatal("finish and claim under a cancelled context succeeded")
		}
		if held := pending.Held(); held == nil || held.ID != ids[0] {
			t.Fatalf("parked after a failed statement = %v, want row 0's outcome", held)
		}
		if r := delivery(t, st, ids[0]); r.Status != store.StatusSending {
			t.Fatalf("row 0 after a failed statement = %s, want still sending", r.Status)
		}
		if r := delivery(t, st, in[0].ID); r.Status != store.StatusPending {
			t.Fatalf("next row after a failed statement = %s, want still pending", r.Status)
		}
		if w, err := st.FlushOutcome(context.Background(), &pending, now); err != nil || !w.Recorded {
			t.Fatalf("flush after the failure = %+v, %v; want recorded", w, err)
		}
	})
}

// TestParkedOutcomeLostInACrashIsSettledUnknown: a process that dies with an
// outcome parked wrote nothing of it; the row stays sending under its claim
// until the lease runs out, and the reconciler then settles it as unknown,
// never as pending (no second send).
func TestParkedOutcomeLostInACrashIsSettledUnknown(t *testing.T) {
	onSendingRows(t, 1, func(t *testing.T, st *store.Store, now time.Time, ids []int64) {
		ctx := context.Background()
		var pending store.PendingOutcome
		pending.Park(store.Outcome{ID: ids[0], Token: "t0", Status: store.StatusSent})
		// The crash: pending is dropped unwritten.

		const lease = 2 * time.Minute
		later := now.Add(lease / 2)
		if unknown, _, err := st.ExpireClaims(ctx, later.Add(-lease), nil, later); err != nil || unknown != 0 {
			t.Fatalf("expire within the lease = %d, %v; want 0", unknown, err)
		}
		if r := delivery(t, st, ids[0]); r.Status != store.StatusSending {
			t.Fatalf("row within the lease = %s, want sending", r.Status)
		}
		after := now.Add(lease + time.Second)
		if unknown, _, err := st.ExpireClaims(ctx, after.Add(-lease), nil, after); err != nil || unknown != 1 {
			t.Fatalf("expire after the lease = %d, %v; want 1", unknown, err)
		}
		if r := delivery(t, st, ids[0]); r.Status != store.StatusUnknown || r.SentAt != nil {
			t.Fatalf("row after the lease = %s sent_at %v; want unknown, no sent_at", r.Status, r.SentAt)
		}
	})
}

// TestParkingOverAnUnwrittenOutcomePanics: an outcome parked over another
// would silently lose the first, so Park refuses it loudly.
func TestParkingOverAnUnwrittenOutcomePanics(t *testing.T) {
	t.Parallel()
	var pending store.PendingOutcome
	pending.Park(store.Outcome{ID: 1, Token: "t1", Status: store.StatusSent})
	defer func() {
		if recover() == nil {
			t.Fatal("parking over an unwritten outcome did not panic")
		}
		if held := pending.Held(); held == nil || held.ID != 1 {
			t.Fatalf("parked after the refused park = %v, want the first outcome", held)
		}
	}()
	pending.Park(store.Outcome{ID: 2, Token: "t2", Status: store.StatusSent})
}
