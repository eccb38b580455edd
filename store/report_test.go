package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// ledgerWorld writes ledger rows and purchases with chosen times.
type ledgerWorld struct {
	t   *testing.T
	st  *store.Store
	ids map[string]int64 // customer external id -> id
	occ int
}

func (w *ledgerWorld) customer(ext string) int64 {
	w.t.Helper()
	if id, ok := w.ids[ext]; ok {
		return id
	}
	email := ext + "@example.com"
	yes := true
	if _, err := w.st.UpsertCustomers(context.Background(), []store.CustomerInput{{ExternalID: ext, Email: &email, EmailConsent: &yes}}); err != nil {
		w.t.Fatal(err)
	}
	c, err := w.st.CustomerByExternalID(context.Background(), ext)
	if err != nil {
		w.t.Fatal(err)
	}
	w.ids[ext] = c.ID
	return c.ID
}

// row writes a ledger row planned at created, and when sentAt is not zero
// claims it and records outcome at sentAt, as the delivery pipeline does.
func (w *ledgerWorld) row(campaign, ext, variant string, status store.Status, created time.Time, outcome store.Status, sentAt time.Time) {
	w.t.Helper()
	ctx := context.Background()
	w.occ++
	in, err := w.st.InsertDeliveries(ctx, []store.NewDelivery{{CampaignID: campaign, CustomerID: w.customer(ext),
		Occurrence: fmt.Sprint(w.occ), Channel: "email", Variant: variant, Status: status}}, created)
	if err != nil || len(in) != 1 {
		w.t.Fatalf("insert row: %v %v", in, err)
	}
	if sentAt.IsZero() {
		return
	}
	storetest.Claim(w.t, w.st, in[0].ID, "tok", ext+"@example.com", sentAt)
	if ok, err := w.st.FinishDelivery(ctx, in[0].ID, "tok", outcome, "", "", sentAt); err != nil || !ok {
		w.t.Fatalf("finish: %v %v", ok, err)
	}
}

func (w *ledgerWorld) purchase(ext string, cents int64, at time.Time) {
	w.t.Helper()
	w.occ++
	_, err := w.st.UpsertPurchases(context.Background(), []store.PurchaseInput{{
		OrderID: fmt.Sprintf("o%d", w.occ), CustomerExternalID: ext, AmountCents: cents, OccurredAt: at}})
	if err != nil {
		w.t.Fatal(err)
	}
}

// bounce records a hard bounce of the customer's address at time at.
func (w *ledgerWorld) bounce(ext string, at time.Time) {
	w.t.Helper()
	if err := w.st.Suppress(context.Background(), "email", ext+"@example.com", store.SuppressHardBounce, w.customer(ext)); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.st.DB.Exec(w.st.DB.Rebind(`UPDATE suppressions SET created_at = ? WHERE customer_id = ?`), at, w.customer(ext)); err != nil {
		w.t.Fatal(err)
	}
}

// TestCampaignOutcomes crafts a campaign ("promo": variants A and B and a
// holdout) and a competing one ("other") with known timings and checks every
// count: inside and outside the 7-day window, the window's last instant,
// purchases before the send, another campaign's later send or holdout row
// taking the credit, an earlier one not, a bounce inside and outside the
// bounce window, and customers never reached (intent to treat).
func TestCampaignOutcomes(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			w := &ledgerWorld{t: t, st: storetest.Open(t, d), ids: map[string]int64{}}
			const day = 24 * time.Hour
			const window = 7 * day
			t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // the run plans its rows
			sent := t0.Add(time.Hour)                          // and sends them an hour later
			var none time.Time

			// Variant A.
			w.row("promo", "c1", "A", store.StatusPending, t0, store.StatusSent, sent)
			w.purchase("c1", 1000, t0.Add(day))                                                                 // converts
			w.row("promo", "c1", "A", store.StatusPending, t0.Add(day), store.StatusSent, t0.Add(36*time.Hour)) // second occurrence
			w.purchase("c1", 500, t0.Add(2*day))                                                                // credited once, to either row
			w.row("promo", "c2", "A", store.StatusPending, t0, store.StatusSent, sent)
			w.purchase("c2", 300, t0.Add(30*time.Minute))            // before the send
			w.purchase("c2", 700, sent.Add(window).Add(time.Second)) // one second too late
			w.row("promo", "c6", "A", store.StatusPending, t0, store.StatusFailed, sent)
			w.purchase("c6", 400, t0.Add(day)) // failed send: still in the audience, still converts
			w.row("promo", "c7", "A", store.StatusPending, t0, store.StatusSent, sent)
			w.bounce("c7", sent.Add(2*time.Hour)) // bounced: sent, not delivered
			w.row("promo", "c9", "A", store.StatusSuppressed, t0, "", none)
			w.purchase("c9", 600, t0.Add(day)) // never messaged (no consent): intent to treat
			w.row("promo", "c10", "A", store.StatusPending, t0, store.StatusSent, sent)
			w.row("other", "c10", "", store.StatusHoldout, t0.Add(day), "", none)
			w.purchase("c10", 800, t0.Add(2*day)) // other campaign's holdout row came later: its credit

			// Variant B.
			w.row("promo", "c3", "B", store.StatusPending, t0, store.StatusSent, sent)
			w.purchase("c3", 2000, sent.Add(window)) // the window's last instant counts
			w.row("promo", "c4", "B", store.StatusPending, t0, store.StatusSent, sent)
			w.row("other", "c4", "", store.StatusPending, t0.Add(2*day), store.StatusSent, t0.Add(2*day))
			w.purchase("c4", 900, t0.Add(3*day)) // other campaign's later send takes it
			w.row("other", "c5", "", store.StatusPending, t0.Add(-day), store.StatusSent, t0.Add(-day))
			w.row("promo", "c5", "B", store.StatusPending, t0, store.StatusSent, sent)
			w.purchase("c5", 1100, t0.Add(2*day)) // promo is the latest touch
			w.row("promo", "c8", "B", store.StatusPending, t0, store.StatusSent, sent)
			w.bounce("c8", sent.Add(10*day)) // a bounce long after: about another message

			// Holdout.
			w.row("promo", "h1", "", store.StatusHoldout, t0, "", none)
			w.purchase("h1", 1200, t0.Add(3*day))
			w.row("promo", "h2", "", store.StatusHoldout, t0, "", none)
			w.row("other", "h2", "", store.StatusPending, t0.Add(day), store.StatusSent, t0.Add(day))
			w.purchase("h2", 1300, t0.Add(2*day)) // other campaign's send took it
			w.row("promo", "h3", "", store.StatusHoldout, t0, "", none)
			w.purchase("h3", 1400, t0.Add(-time.Hour)) // before the would-be send

			got, err := w.st.CampaignOutcomes(context.Background(), "promo", window)
			if err != nil {
				t.Fatal(err)
			}
			want := []store.ArmOutcome{
				{Variant: "A", Audience: 6, Sent: 5, Delivered: 4, Failed: 1, Conversions: 3, RevenueCents: 1000 + 500 + 400 + 600},
				{Variant: "B", Audience: 4, Sent: 4, Delivered: 4, Conversions: 2, RevenueCents: 2000 + 1100},
				{Holdout: true, Audience: 3, Conversions: 1, RevenueCents: 1200},
			}
			if fmt.Sprint(got.Arms) != fmt.Sprint(want) {
				t.Errorf("arms\n got %+v\nwant %+v", got.Arms, want)
			}
			treated := store.ArmOutcome{Audience: 10, Sent: 9, Delivered: 8, Failed: 1, Conversions: 5, RevenueCents: 5600}
			if got.Treated != treated {
				t.Errorf("treated\n got %+v\nwant %+v", got.Treated, treated)
			}
			// Sends by day of sent_at; conversions by the day of each treated
			// customer's first attributed purchase (c1, c6, c9 on 3 March,
			// c5 on the 4th, c3 on the 9th).
			wantDaily := "2026-03-02 8/0, 2026-03-03 1/3, 2026-03-04 0/1, 2026-03-09 0/1, "
			gotDaily := ""
			for _, p := range got.Daily {
				gotDaily += fmt.Sprintf("%s %d/%d, ", p.Day.Format(time.DateOnly), p.Sent, p.Conversions)
			}
			if gotDaily != wantDaily {
				t.Errorf("daily sent/conversions\n got %s\nwant %s", gotDaily, wantDaily)
			}

			// "other" sees its own side: c4 and c10 (via its holdout row) and h2.
			other, err := w.st.CampaignOutcomes(context.Background(), "other", window)
			if err != nil {
				t.Fatal(err)
			}
			if other.Treated.Conversions != 2 || other.Treated.RevenueCents != 900+1300 ||
				len(other.Arms) != 2 || other.Arms[1].Conversions != 1 || other.Arms[1].RevenueCents != 800 {
				t.Errorf("other campaign: %+v", other)
			}

			// A shorter window drops c3's purchase at the window's end, and
			// an unknown campaign has no rows at all.
			short, err := w.st.CampaignOutcomes(context.Background(), "promo", 6*day)
			if err != nil {
				t.Fatal(err)
			}
			if short.Arms[1].Conversions != 1 {
				t.Errorf("6-day window: variant B conversions = %d, want 1", short.Arms[1].Conversions)
			}
			empty, err := w.st.CampaignOutcomes(context.Background(), "nope", window)
			if err != nil || len(empty.Arms) != 0 || empty.Treated != (store.ArmOutcome{}) || len(empty.Daily) != 0 {
				t.Errorf("unknown campaign: %+v, %v", empty, err)
			}
			if _, err := w.st.CampaignOutcomes(context.Background(), "promo", 0); err == nil {
				t.Error("a zero window should be refused")
			}
		})
	}
}
