package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// planOnly is a worker that plans runs but sends nothing: its rows wait.
var planOnly = workerConfig{concurrency: 2, queues: map[string]int{worker.QueuePlan: 1}}

// sendOnly is a worker that only sends.
var sendOnly = workerConfig{concurrency: 4, queues: map[string]int{worker.QueueDeliver: 1}}

// TestUnsubscribeMidRunStopsWaitingMessages plans a run while no worker
// sends, then one customer unsubscribes (their address is suppressed) and
// another withdraws email consent before the sends start: both rows end
// suppressed and the SMTP server receives nothing for them; everyone else
// gets their message.
func TestUnsubscribeMidRunStopsWaitingMessages(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			const n = 6
			b.addCustomers(t, n, nil)
			c := b.campaign(t, newsletterYAML)
			e := b.engineWith(t, worker.Options{}, c)
			b.acceptWorker(t, e, planOnly)
			ctx := context.Background()
			if err := e.Enqueue(ctx, "news", "k1", time.Now()); err != nil {
				t.Fatal(err)
			}
			b.waitPlanned(t, "news", "k1")
			if got := b.counts(t, "news"); got[store.StatusPending] != n {
				t.Fatalf("planned ledger = %v, want %d pending", got, n)
			}
			rows := b.deliveries(t, "news")
			// The unsubscribe link's spelling: upper case must still match.
			if err := b.st.Suppress(ctx, "email", "Customer2@Example.com", store.SuppressUnsubscribe, rows["c2"].CustomerID); err != nil {
				t.Fatal(err)
			}
			if err := b.st.SetConsent(ctx, rows["c5"].CustomerID, "email", false, store.ConsentAdmin); err != nil {
				t.Fatal(err)
			}
			b.acceptWorker(t, e, sendOnly)
			b.waitSettled(t, "news", "k1", time.Now(), 30*time.Second)

			rows, got := b.deliveries(t, "news"), b.receivedBy()
			for i := 1; i <= n; i++ {
				ext, addr := fmt.Sprintf("c%d", i), fmt.Sprintf("customer%d@example.com", i)
				want, msgs := store.StatusSent, 1
				if i == 2 || i == 5 {
					want, msgs = store.StatusSuppressed, 0
				}
				if d := rows[ext]; d.Status != want || got[addr] != msgs {
					t.Errorf("%s: %s (%q), %d messages; want %s, %d", ext, d.Status, d.Error, got[addr], want, msgs)
				}
			}
		})
	}
}

// TestSMSQuietHoursDeferThenDeliver fires an SMS campaign at 23:00 in New
// York (03:00 UTC on a past date): the New York customers' rows are deferred
// to 08:00 their time while a Tokyo customer (noon) gets the message at
// once. One New York number replies STOP while its row waits. At 07:45 the
// reconciler sends nothing; at 08:00 the other New York customer gets the
// message (sent_at 08:00 local on the fake clock) and the stopped number
// gets nothing (suppressed).
func TestSMSQuietHoursDeferThenDeliver(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			testQuietHours(t, dialect)
		})
	}
}

func testQuietHours(t *testing.T, dialect store.Dialect) {
	b := setup(t, dialect)
	provider := startSMS(t, b)
	people := []smsPerson{{"America/New_York", "+12125550101"}, {"Asia/Tokyo", "+819012345678"}, {"America/New_York", "+12125550103"}}
	b.addSMSCustomers(t, people)
	ny := mustZone(t, "America/New_York")
	start := time.Date(2025, 6, 10, 23, 0, 0, 0, ny).UTC()
	morning := time.Date(2025, 6, 11, 8, 0, 0, 0, ny).UTC()
	clock := &fakeClock{t: start}
	c := b.campaign(t, flashSMSYAML)
	e := b.engineWith(t, worker.Options{Now: clock.Now}, c)
	b.acceptWorker(t, e, workerConfig{})
	ctx := context.Background()
	if err := e.Enqueue(ctx, "flash", "k1", start); err != nil {
		t.Fatal(err)
	}
	b.waitSettled(t, "flash", "k1", start, 30*time.Second)
	b.waitIdle(t) // the deferred rows' early tasks have run and done nothing
	rows := b.deliveries(t, "flash")
	for _, ext := range []string{"c1", "c3"} {
		d := rows[ext]
		if d.Status != store.StatusDeferred || d.NotBefore == nil || !d.NotBefore.Equal(morning) {
			t.Fatalf("%s at 23:00 local: %s not before %v; want deferred to %s", ext, d.Status, d.NotBefore, morning)
		}
		if d.Error != store.ReasonQuietHours {
			t.Errorf("%s deferred for quiet hours says %q, want \"quiet hours\"", ext, d.Error)
		}
	}
	if d := rows["c2"]; d.Status != store.StatusSent || d.SentAt == nil || !d.SentAt.Equal(start) {
		t.Fatalf("c2 at noon in Tokyo: %s at %v, want sent at once", d.Status, d.SentAt)
	}
	if err := b.st.Suppress(ctx, "sms", people[2].phone, store.SuppressStop, rows["c3"].CustomerID); err != nil {
		t.Fatal(err)
	}

	step := func(now time.Time) {
		clock.Set(now)
		if _, err := e.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		b.waitSettled(t, "flash", "k1", now, 30*time.Second)
		b.waitIdle(t) // the tasks the pass enqueued have run
	}
	step(morning.Add(-15 * time.Minute))
	if msgs := provider.Messages(); len(msgs) != 1 {
		t.Fatalf("at 07:45 local the provider has %d messages, want 1 (Tokyo)", len(msgs))
	}
	step(morning)
	rows = b.deliveries(t, "flash")
	if d := rows["c1"]; d.Status != store.StatusSent || d.SentAt == nil || !d.SentAt.Equal(morning) {
		t.Errorf("c1 at 08:00 local: %s at %v, want sent at %s", d.Status, d.SentAt, morning)
	}
	if d := rows["c3"]; d.Status != store.StatusSuppressed {
		t.Errorf("c3 (STOP while deferred): %s (%q), want suppressed", d.Status, d.Error)
	}
	byPhone := map[string]int{}
	for _, m := range provider.Messages() {
		byPhone[m.To]++
		if !strings.Contains(m.Body, "Reply STOP") {
			t.Errorf("SMS body %q", m.Body)
		}
	}
	if len(byPhone) != 2 || byPhone[people[0].phone] != 1 || byPhone[people[1].phone] != 1 {
		t.Errorf("provider received %v, want one each for %s and %s", byPhone, people[0].phone, people[1].phone)
	}
}
