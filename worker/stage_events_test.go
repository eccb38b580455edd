package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// stageChangeYAML reacts to a customer leaving the new stage.
const stageChangeYAML = `id: after-new
name: Left the new stage
trigger:
  event: {type: lifecycle_changed, where: "event.properties.from == \"new\""}
audience: email_consent
channels: [email]
occurrence: every run
messages:
  email:
    subject: "From {{ .event.properties.from }} to {{ .event.properties.to }}"
    text: "We miss you."
`

// TestStageChangeTriggersACampaign runs the scheduled refresh twice through
// the queue, 120 days apart: the first gives ann her first stage (new: not
// a change), the second moves her out of new, and the lifecycle_changed
// event it records reaches the campaign triggered by it (one ledger row
// whose subject names both stages), as a shop's event would. A third
// refresh at the same clock changes nothing and plans nothing more.
func TestStageChangeTriggersACampaign(t *testing.T) {
	t.Parallel()
	for _, d := range []store.Dialect{store.Postgres, store.SQLite} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setup(t, d)
			start := time.Now().UTC().Truncate(time.Second)
			b.clock = &fakeClock{t: start}
			b.addCustomers(t, 1, nil)
			var buys []store.PurchaseInput
			for i, days := range []int{30, 20, 10} {
				buys = append(buys, store.PurchaseInput{OrderID: "o" + string(rune('1'+i)), CustomerExternalID: "c1",
					AmountCents: 40_00, OccurredAt: start.AddDate(0, 0, -days)})
			}
			if _, err := b.st.UpsertPurchases(ctx, buys); err != nil {
				t.Fatal(err)
			}
			models := insights.Models{BG: insights.BGNBDParams{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}}
			c := b.campaign(t, stageChangeYAML)
			e := b.engineWith(t, worker.Options{Now: b.clock.Now,
				Insights: worker.InsightsOptions{Score: insights.ScoreOptions{Models: &models}, Log: quietLogger()}}, c)
			b.startWorker(t, e, 2)
			q := &worker.Enqueuer{Client: asynq.NewClientFromRedisClient(b.rdb)}
			refresh := func(day string) {
				t.Helper()
				if err := q.Insights(ctx, day); err != nil {
					t.Fatal(err)
				}
				want := b.clock.Now()
				waitUntil(t, 20*time.Second, "the refresh of "+day, func() bool {
					cust, err := b.st.CustomerByExternalID(ctx, "c1")
					return err == nil && cust.InsightsAt.Equal(want)
				})
			}
			refresh("day-1")
			if cust, _ := b.st.CustomerByExternalID(ctx, "c1"); cust.Lifecycle != insights.StageNew {
				t.Fatalf("first stage %q, want new", cust.Lifecycle)
			}
			b.clock.Set(start.AddDate(0, 0, 120))
			refresh("day-2")
			cust, _ := b.st.CustomerByExternalID(ctx, "c1")
			if cust.Lifecycle == insights.StageNew {
				t.Fatalf("120 days later still new")
			}
			waitUntil(t, 20*time.Second, "the stage change's ledger row", func() bool { return len(evRows(t, b, c.ID)) == 1 })
			id := store.ChangeEventID(store.LifecycleChangedEvent, cust.ID, b.clock.Now())
			waitUntil(t, 20*time.Second, "the reaction to "+id, func() bool {
				row, err := b.st.InboxEvent(ctx, id)
				return err == nil && row.Status == store.InboxProcessed
			})
			refresh("day-3")
			if rows := evRows(t, b, c.ID); len(rows) != 1 {
				t.Fatalf("after a refresh that changed nothing: %d rows, want 1", len(rows))
			}
			waitUntil(t, 20*time.Second, "the message", func() bool { return len(b.smtp.Messages()) == 1 })
			h, err := b.smtp.Messages()[0].Header()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := h.Get("Subject"), "From new to "+cust.Lifecycle; got != want {
				t.Errorf("subject %q, want %q", got, want)
			}
		})
	}
}
