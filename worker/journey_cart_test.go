package worker_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store/storetest"
)

// TestCartAbandonmentJourneySendsOnlyToCartsNoPurchaseFollowed runs
// examples/campaigns/cart-abandonment.yaml on both databases with every event
// through the events API (/v1/events): carts over 50 enter, an hour without a
// purchase brings the reminder and a day more the offer; a purchase in the
// hour (c1) or after the reminder (c3) ends it; a cart of 30 (c4) never
// enters; a second cart while inside (c5) does not enter again; a purchase
// before the cart (c6) does not count.
func TestCartAbandonmentJourneySendsOnlyToCartsNoPurchaseFollowed(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../examples/campaigns/cart-abandonment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cart := func(total string) string {
		return `{"total": ` + total + `, "items": 2, "currency": "EUR"}`
	}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			w := newJourneyWorld(t, d, string(raw), 6)
			hook := evHook(t, w.bundle)
			evPostAny(t, w.bundle, hook, "buy-6", "purchase", "c6", `{"order_id": "o-6", "amount": 40}`, w.t0.Add(-10*time.Minute))
			for ext, total := range map[string]string{"c1": "60", "c2": "75.5", "c3": "60", "c4": "30", "c5": "60", "c6": "60"} {
				evPostAny(t, w.bundle, hook, "cart-"+ext, "cart_updated", ext, cart(total), w.t0)
			}
			w.sweep(t)
			w.at(20 * time.Minute)
			evPostAny(t, w.bundle, hook, "buy-1", "purchase", "c1", `{"order_id": "o-1", "amount": 60}`, w.clock.Now())
			w.at(30 * time.Minute)
			evPostAny(t, w.bundle, hook, "cart-c5-again", "cart_updated", "c5", cart("90"), w.clock.Now())
			w.sweep(t)
			w.at(time.Hour + time.Minute)
			w.sweep(t)
			w.at(5 * time.Hour)
			evPostAny(t, w.bundle, hook, "buy-3", "purchase", "c3", `{"order_id": "o-3", "amount": 60}`, w.clock.Now())
			w.sweep(t)
			w.at(25*time.Hour + 2*time.Minute)
			w.sweep(t)

			got := map[string]string{}
			for ext, rows := range w.steps(t, "cart-abandonment") {
				var steps []string
				for _, r := range rows {
					steps = append(steps, r[strings.Index(r, "/")+1:])
				}
				got[ext] = strings.Join(steps, " ")
			}
			both := "reminder#2:sent offer#4:sent"
			want := map[string]string{"c1": "", "c2": both, "c3": "reminder#2:sent", "c4": "", "c5": both, "c6": both}
			for ext, s := range want {
				if got[ext] != s {
					t.Errorf("%s's sends = %q, want %q", ext, got[ext], s)
				}
			}
			if n := len(w.smtp.Messages()); n != 7 {
				t.Errorf("the SMTP server received %d emails, want 7", n)
			}
			states, err := w.st.JourneyStates(w.ctx, "cart-abandonment")
			if err != nil {
				t.Fatal(err)
			}
			byCustomer := map[int64][]string{}
			for _, s := range states {
				byCustomer[s.CustomerID] = append(byCustomer[s.CustomerID], string(s.Status)+" "+s.ExitReason)
			}
			for ext, want := range map[string]string{"c1": "done purchase", "c3": "done purchase", "c2": "done completed",
				"c5": "done completed", "c6": "done completed"} {
				c, err := w.st.CustomerByExternalID(w.ctx, ext)
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Join(byCustomer[c.ID], ", "); got != want {
					t.Errorf("%s's journey states: %q, want %q", ext, got, want)
				}
			}
			var offer string
			for _, m := range w.smtp.Messages() {
				if s := string(m.Data); strings.Contains(s, "CART10") && strings.Contains(s, "customer2@") {
					offer = s
				}
			}
			if !strings.Contains(offer, "75.5 EUR") {
				t.Errorf("c2's offer does not show the cart it is for:\n%s", offer)
			}
		})
	}
}
