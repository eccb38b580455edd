package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/worker"
)

const evSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// evHook serves the purchase webhook for b, reacting through the queue.
func evHook(t *testing.T, b *bundle) *httptest.Server {
	t.Helper()
	h, err := triggers.NewWebhook(triggers.WebhookOptions{Secrets: evSecret, Store: b.st, Logger: quietLogger(),
		Reactor: &worker.Enqueuer{Client: asynq.NewClientFromRedisClient(b.rdb)}, Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// evPost posts a signed purchase event and waits until its reaction ran.
func evPost(t *testing.T, b *bundle, srv *httptest.Server, id, customer, order, amount string, at time.Time) {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"event_id": %q, "customer": {"external_id": %q, "email": "%s@example.com",
		"email_consent": true}, "order_id": %q, "amount": %s, "occurred_at": %q}`,
		id, customer, customer, order, amount, at.Format(time.RFC3339)))
	evSend(t, b, srv, triggers.PathPurchase, id, body)
}

// evSend posts body signed under webhook-id id to path and waits until the
// event's reaction ran.
func evSend(t *testing.T, b *bundle, srv *httptest.Server, path, id string, body []byte) {
	t.Helper()
	req, err := triggers.SignedRequest(context.Background(), evSecret, srv.URL+path, id, b.clock.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		t.Fatalf("post %s: %s", id, resp.Status)
	}
	waitUntil(t, 10*time.Second, "event "+id+" to be processed", func() bool {
		row, err := b.st.InboxEvent(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if row.Status == store.InboxFailed {
			t.Fatalf("event %s: status %s, error %q", id, row.Status, row.Error)
		}
		return row.Status == store.InboxProcessed
	})
}

func evCampaignFile(t *testing.T, b *bundle, name string) string {
	t.Helper()
	raw, err := os.ReadFile("../examples/campaigns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func evRows(t *testing.T, b *bundle, campaign string) []store.Delivery {
	t.Helper()
	var rows []store.Delivery
	if err := b.st.DB.SelectContext(context.Background(), &rows, b.st.DB.Rebind(`SELECT id, customer_id, occurrence,
		status, error, not_before, created_at FROM deliveries WHERE campaign_id = ? ORDER BY id`), campaign); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestFirstPurchaseOver100ThanksOnceAfterDelay: the example thank-you
// campaign (first order over 100, 2 h after) writes one deferred row due 2 h
// after the order, sends it only then, and never again for later orders,
// duplicates or replays; a first order of 50 gets nothing.
func TestFirstPurchaseOver100ThanksOnceAfterDelay(t *testing.T) {
	t.Parallel()
	b := setup(t, store.Postgres)
	start := time.Now().UTC().Truncate(time.Second)
	b.clock = &fakeClock{t: start}
	thank := b.campaign(t, evCampaignFile(t, b, "purchase-thank-you.yaml"))
	e := b.engine(t, thank)
	b.startWorker(t, e, 4)
	srv := evHook(t, b)

	evPost(t, b, srv, "e1", "ann", "o1", "150.00", start)
	evPost(t, b, srv, "e2", "bob", "o2", "50", start)
	rows := evRows(t, b, thank.ID)
	if len(rows) != 1 || rows[0].Status != store.StatusDeferred || rows[0].Occurrence != "ever" ||
		rows[0].NotBefore == nil || !rows[0].NotBefore.Equal(start.Add(2*time.Hour)) {
		t.Fatalf("rows = %+v, want one deferred row for ann due at %s", rows, start.Add(2*time.Hour))
	}
	if rows[0].Error != store.ReasonSendTime {
		t.Errorf("a row waiting for its event's delay says %q, want \"send time\"", rows[0].Error)
	}
	ins := asynq.NewInspectorFromRedisClient(b.rdb)
	taskID := fmt.Sprintf("deliver:%d@%d", rows[0].ID, rows[0].NotBefore.Unix())
	info, err := ins.GetTaskInfo(worker.QueueDeliver, taskID)
	if err != nil || info.State != asynq.TaskStateScheduled || !info.NextProcessAt.Equal(*rows[0].NotBefore) {
		t.Fatalf("send task = %+v, %v; want scheduled at %s", info, err, rows[0].NotBefore)
	}

	// A second order, the first event again, and a replay change nothing.
	b.clock.Set(start.Add(time.Hour))
	evPost(t, b, srv, "e3", "ann", "o3", "300", start.Add(time.Hour))
	evPost(t, b, srv, "e1", "ann", "o1", "150.00", start)
	if err := e.ProcessEvent(context.Background(), "e1"); err != nil {
		t.Fatal(err)
	}
	if n := len(evRows(t, b, thank.ID)); n != 1 || len(b.smtp.Messages()) != 0 {
		t.Fatalf("%d rows and %d emails before the delay, want 1 and 0", n, len(b.smtp.Messages()))
	}

	// The delay passes: the scheduled send runs (asynq's own clock is real
	// time, so the test runs the scheduled task now) and sends once.
	b.clock.Set(start.Add(2*time.Hour + time.Second))
	if err := ins.RunTask(worker.QueueDeliver, taskID); err != nil {
		t.Fatal(err)
	}
	msgs := b.smtp.WaitMessages(t, 1, 10*time.Second)
	b.waitIdle(t) // the send task has finished: nothing else will arrive
	if len(b.smtp.Messages()) != 1 || msgs[0].To[0] != "ann@example.com" {
		t.Fatalf("emails = %d to %v, want one to ann", len(b.smtp.Messages()), msgs[0].To)
	}
	if !bytes.Contains(msgs[0].Data, []byte("Thank you for your order")) {
		t.Fatalf("email is not the thank-you:\n%s", msgs[0].Data)
	}
	if !bytes.Contains(msgs[0].Data, []byte("first order (o1)")) {
		t.Fatalf("email does not show the order it thanks for:\n%s", msgs[0].Data)
	}
	if c := b.counts(t, thank.ID); c[store.StatusSent] != 1 || len(c) != 1 {
		t.Fatalf("ledger = %v, want exactly one sent", c)
	}
}

// TestPurchaseCancelsPendingWinBack: a purchase cancels the buyer's waiting
// win-back message (exit_on: [purchase]) and leaves other customers' alone.
func TestPurchaseCancelsPendingWinBack(t *testing.T) {
	t.Parallel()
	b := setup(t, store.Postgres)
	start := time.Now().UTC().Truncate(time.Second)
	b.clock = &fakeClock{t: start}
	winback := b.campaign(t, evCampaignFile(t, b, "win-back-90d.yaml"))
	e := b.engine(t, winback)
	b.startWorker(t, e, 2)
	srv := evHook(t, b)
	b.addCustomers(t, 2, nil)
	ctx := context.Background()
	var ids [2]int64
	for i := range ids {
		c, err := b.st.CustomerByExternalID(ctx, fmt.Sprintf("c%d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}
	_, err := b.st.InsertDeliveries(ctx, []store.NewDelivery{
		{CampaignID: winback.ID, CustomerID: ids[0], Occurrence: "run-1", Channel: "email", Status: store.StatusDeferred,
			NotBefore: start.Add(time.Hour), CappedClass: true},
		{CampaignID: winback.ID, CustomerID: ids[1], Occurrence: "run-1", Channel: "email", Status: store.StatusDeferred,
			NotBefore: start.Add(time.Hour), CappedClass: true},
	}, start.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	evPost(t, b, srv, "buy-1", "c1", "o-1", "20", start)
	rows := evRows(t, b, winback.ID)
	if len(rows) != 2 || rows[0].Status != store.StatusCancelled || rows[0].Error != store.ReasonExitPurchase ||
		rows[1].Status != store.StatusDeferred {
		t.Fatalf("rows = %+v, want c1's cancelled (exit: purchase) and c2's still deferred", rows)
	}
}
