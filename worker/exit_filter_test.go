package worker_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/worker"
)

// exitFilterYAML is a cart reminder an hour after the cart whose exit_on
// takes only purchases of 50 or more.
const exitFilterYAML = `id: cart-50
name: Cart reminder
trigger:
  event: {type: cart_updated, delay: 1h}
audience: email_consent
exit_on: [{event: purchase, where: "event.amount >= 50"}]
channels: [email]
frequency: {class: transactional}
occurrence: every run
messages:
  email: {subject: "Your cart", text: "Still there, {{ .external_id }}"}
`

// storeOnlyHook serves the events API without a reactor: an event stored
// whose reaction has not run yet (queued, or its task lost with Redis).
func storeOnlyHook(t *testing.T, b *bundle) *httptest.Server {
	t.Helper()
	h, err := triggers.NewWebhook(triggers.WebhookOptions{Secrets: evSecret, Store: b.st, Logger: quietLogger(),
		Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// storeOnly posts a purchase that is stored and not reacted to.
func storeOnly(t *testing.T, b *bundle, srv *httptest.Server, id, customer, amount string, at time.Time) {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"type": "purchase", "customer": %q, "time": %q,
		"properties": {"order_id": %q, "amount": %s}}`, customer, at.Format(time.RFC3339), "o-"+id, amount))
	req, err := triggers.SignedRequest(context.Background(), evSecret, srv.URL+triggers.PathEvents, id, b.clock.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("post %s: %s", id, resp.Status)
	}
}

// deliverAll runs the send task of every waiting row of the campaign now
// (asynq's clock is the wall's; the bundle's is fake) and waits until each
// row is settled. It returns each customer's status and reason.
func deliverAll(t *testing.T, b *bundle, campaign string) map[string]string {
	t.Helper()
	ctx := context.Background()
	q := &worker.Enqueuer{Client: asynq.NewClientFromRedisClient(b.rdb)}
	for _, r := range evRows(t, b, campaign) {
		if r.Status == store.StatusDeferred || r.Status == store.StatusPending {
			if err := q.Deliver(ctx, r.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitUntil(t, 20*time.Second, "every row of "+campaign+" to be settled", func() bool {
		for _, r := range evRows(t, b, campaign) {
			if r.Status == store.StatusDeferred || r.Status == store.StatusPending || r.Status == store.StatusSending {
				return false
			}
		}
		return true
	})
	var rows []struct {
		Ext    string       `db:"external_id"`
		Status store.Status `db:"status"`
		Error  store.Reason `db:"error"`
	}
	if err := b.st.DB.Select(&rows, b.st.DB.Rebind(`SELECT c.external_id, d.status, d.error FROM deliveries d
		JOIN customers c ON c.id = d.customer_id WHERE d.campaign_id = ? ORDER BY d.id`), campaign); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Ext] = string(r.Status)
		if r.Status == store.StatusCancelled {
			out[r.Ext] += " (" + string(r.Error) + ")"
		}
	}
	return out
}

// TestExitFilterTakesOnlyMatchingEvents: an exit_on entry with a filter
// cancels a waiting message only for an event that passes it, whichever path
// sees the event first: the purchase webhook's reaction, the events API's
// reaction, or (the reaction not run yet) the delivery's last look before
// the send. On both databases: a cart reminder with a 1-hour delay, six
// carts, purchases of 20 (kept) and 80 (cancelled) on each path.
func TestExitFilterTakesOnlyMatchingEvents(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b, c, start := exitBundle(t, d, exitFilterYAML, 6)
			hook, quiet := evHook(t, b), storeOnlyHook(t, b)
			for i := 1; i <= 6; i++ {
				evPostAny(t, b, hook, fmt.Sprintf("cart-%d", i), "cart_updated", fmt.Sprintf("c%d", i), `{"total": 60}`, start)
			}
			at := start.Add(10 * time.Minute)
			b.clock.Set(at)
			evPost(t, b, hook, "buy-1", "c1", "o-1", "20", at) // purchase webhook, below the filter
			evPost(t, b, hook, "buy-2", "c2", "o-2", "80", at) // purchase webhook, passes
			evPostAny(t, b, hook, "buy-3", "purchase", "c3", `{"order_id": "o-3", "amount": 20}`, at)
			evPostAny(t, b, hook, "buy-4", "purchase", "c4", `{"order_id": "o-4", "amount": 80}`, at)
			storeOnly(t, b, quiet, "buy-5", "c5", "20", at) // stored, no reaction yet
			storeOnly(t, b, quiet, "buy-6", "c6", "80", at)
			b.clock.Set(start.Add(time.Hour + time.Second))
			got := deliverAll(t, b, c.ID)
			want := map[string]string{"c1": "sent", "c2": "cancelled (exit: purchase)", "c3": "sent",
				"c4": "cancelled (exit: purchase)", "c5": "sent", "c6": "cancelled (exit: purchase)"}
			checkOutcomes(t, got, want)
			if n := len(b.smtp.Messages()); n != 3 {
				t.Errorf("%d emails, want 3 (c1, c3, c5)", n)
			}
		})
	}
}

// TestExitFilterOnScheduledMessage: a scheduled campaign's message planned
// for later (a win-back at the customer's 10:00) is cancelled by a purchase
// received after it was planned only when the purchase passes the filter,
// through the reaction and through the delivery's last look alike.
func TestExitFilterOnScheduledMessage(t *testing.T) {
	t.Parallel()
	yaml := strings.Replace(evCampaignFileRaw(t, "win-back-90d.yaml"), "exit_on: [purchase]",
		`exit_on: [{event: purchase, where: "event.amount >= 50"}]`, 1)
	if !strings.Contains(yaml, "event.amount >= 50") {
		t.Fatal("win-back-90d.yaml has no `exit_on: [purchase]` line to filter")
	}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b, c, start := exitBundle(t, d, yaml, 4)
			ctx := context.Background()
			var rows []store.NewDelivery
			for i := 1; i <= 4; i++ {
				cust, err := b.st.CustomerByExternalID(ctx, fmt.Sprintf("c%d", i))
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, store.NewDelivery{CampaignID: c.ID, CustomerID: cust.ID, Occurrence: "run-1",
					Channel: "email", Status: store.StatusDeferred, NotBefore: start.Add(time.Hour), CappedClass: true})
			}
			if _, err := b.st.InsertDeliveries(ctx, rows, start.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			hook, quiet := evHook(t, b), storeOnlyHook(t, b)
			evPost(t, b, hook, "buy-1", "c1", "o-1", "20", start)
			evPost(t, b, hook, "buy-2", "c2", "o-2", "80", start)
			storeOnly(t, b, quiet, "buy-3", "c3", "20", start)
			storeOnly(t, b, quiet, "buy-4", "c4", "80", start)
			b.clock.Set(start.Add(time.Hour + time.Second))
			got := deliverAll(t, b, c.ID)
			want := map[string]string{"c1": "sent", "c2": "cancelled (exit: purchase)", "c3": "sent",
				"c4": "cancelled (exit: purchase)"}
			checkOutcomes(t, got, want)
		})
	}
}

// TestJourneyExitFilterTakesOnlyMatchingEvents: the sequence's exit_on
// with a filter: a purchase of 20 mid-wait leaves the customer in the
// journey (both sends), one of 80 exits them (the first send only), with
// the purchases through the purchase webhook and the events API.
func TestJourneyExitFilterTakesOnlyMatchingEvents(t *testing.T) {
	t.Parallel()
	yaml := strings.Replace(sequenceYAML, "exit_on: [purchase]", `exit_on: [{event: purchase, where: "event.amount >= 50"}]`, 1)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			w := newJourneyWorld(t, d, yaml, 4)
			hook := evHook(t, w.bundle)
			w.enter(t, "seq", "run-1")
			w.sweep(t)
			w.at(24 * time.Hour)
			now := w.clock.Now()
			evPost(t, w.bundle, hook, "buy-1", "c1", "o-1", "20", now)
			evPost(t, w.bundle, hook, "buy-2", "c2", "o-2", "80", now)
			evPostAny(t, w.bundle, hook, "buy-3", "purchase", "c3", `{"order_id": "o-3", "amount": 20}`, now)
			evPostAny(t, w.bundle, hook, "buy-4", "purchase", "c4", `{"order_id": "o-4", "amount": 80}`, now)
			w.sweep(t)
			w.at(3*24*time.Hour + time.Minute)
			w.sweep(t)
			both, first := "run-1/hello#1:sent run-1/again#3:sent", "run-1/hello#1:sent"
			checkSteps(t, w.steps(t, "seq"), map[string]string{"c1": both, "c2": first, "c3": both, "c4": first})
			for _, ext := range []string{"c2", "c4"} {
				if s := w.state(t, "seq", ext, "run-1"); s.ExitReason != "purchase" {
					t.Errorf("%s's state: exit reason %q, want purchase", ext, s.ExitReason)
				}
			}
		})
	}
}

// exitBundle is a bundle on a fake clock at the wall's second with n
// customers and a worker running the campaign in yaml.
func exitBundle(t *testing.T, d store.Dialect, yaml string, n int) (*bundle, *campaigns.Campaign, time.Time) {
	t.Helper()
	b := setup(t, d)
	start := time.Now().UTC().Truncate(time.Second)
	b.clock = &fakeClock{t: start}
	c := b.campaign(t, yaml)
	b.startWorker(t, b.engine(t, c), 2)
	b.addCustomers(t, n, nil)
	return b, c, start
}

func checkOutcomes(t *testing.T, got, want map[string]string) {
	t.Helper()
	for ext, w := range want {
		if got[ext] != w {
			t.Errorf("%s: %q, want %q", ext, got[ext], w)
		}
	}
}

func evCampaignFileRaw(t *testing.T, name string) string {
	t.Helper()
	return evCampaignFile(t, nil, name)
}
