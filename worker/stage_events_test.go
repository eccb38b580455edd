package worker_test

import (
	"context"
	"os"
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
			b, start := oneCustomer(t, d)
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

// TestTierUpgradeCongratulatesOnce runs the scheduled refresh through the
// queue with examples/tiers.yaml while a customer's spend rises past gold
// and then lies out of the window: the first tier (member) is no change;
// the rise is a tier_changed event "up" that examples/campaigns/
// tier-upgrade.yaml answers with one message; gold holds through the grace
// period after the spend left the 365-day window, then falls to member (an
// event "down", which the example leaves alone).
func TestTierUpgradeCongratulatesOnce(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../examples/tiers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tiers, err := insights.ParseTiers(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []store.Dialect{store.Postgres, store.SQLite} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b, start := oneCustomer(t, d)
			buy := func(order string, cents int64, at time.Time) {
				t.Helper()
				if _, err := b.st.UpsertPurchases(ctx, []store.PurchaseInput{{OrderID: order, CustomerExternalID: "c1",
					AmountCents: cents, OccurredAt: at}}); err != nil {
					t.Fatal(err)
				}
			}
			buy("o1", 60_00, start.Add(-time.Hour))
			c := b.campaign(t, evCampaignFile(t, b, "tier-upgrade.yaml"))
			models := insights.Models{BG: insights.BGNBDParams{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}}
			e := b.engineWith(t, worker.Options{Now: b.clock.Now, Insights: worker.InsightsOptions{
				Score: insights.ScoreOptions{Models: &models}, Tiers: tiers, Log: quietLogger()}}, c)
			b.startWorker(t, e, 2)
			q := &worker.Enqueuer{Client: asynq.NewClientFromRedisClient(b.rdb)}
			refresh := func(day string, at time.Time) *store.Customer {
				t.Helper()
				b.clock.Set(at)
				if err := q.Insights(ctx, day); err != nil {
					t.Fatal(err)
				}
				var cust *store.Customer
				waitUntil(t, 20*time.Second, "the refresh of "+day, func() bool {
					var err error
					cust, err = b.st.CustomerByExternalID(ctx, "c1")
					return err == nil && cust.InsightsAt.Equal(at)
				})
				return cust
			}
			if cust := refresh("d1", start); cust.Tier != "member" || cust.ABC != "A" {
				t.Fatalf("first refresh: tier %q, abc %q; want member, A (the only buyer)", cust.Tier, cust.ABC)
			}
			buy("o2", 500_00, start.AddDate(0, 0, 1))
			if cust := refresh("d2", start.AddDate(0, 0, 2)); cust.Tier != "gold" {
				t.Fatalf("after $560: tier %q, want gold", cust.Tier)
			}
			waitUntil(t, 20*time.Second, "the congratulation", func() bool { return len(b.smtp.Messages()) == 1 })
			h, err := b.smtp.Messages()[0].Header()
			if err != nil {
				t.Fatal(err)
			}
			if got := h.Get("Subject"); got != "Welcome to gold, friend!" {
				t.Errorf("subject %q", got)
			}
			// o2 leaves the 365-day window on day 366; the grace of 90 days
			// keeps gold until day 456.
			if cust := refresh("d3", start.AddDate(0, 0, 450)); cust.Tier != "gold" {
				t.Fatalf("within the grace period: tier %q, want gold", cust.Tier)
			}
			cust := refresh("d4", start.AddDate(0, 0, 460))
			if cust.Tier != "member" {
				t.Fatalf("past the grace period: tier %q, want member", cust.Tier)
			}
			down := store.ChangeEventID(store.TierChangedEvent, cust.ID, b.clock.Now())
			waitUntil(t, 20*time.Second, "the reaction to "+down, func() bool {
				row, err := b.st.InboxEvent(ctx, down)
				return err == nil && row.Status == store.InboxProcessed
			})
			evs, err := b.st.CustomerEvents(ctx, cust.ID, store.TierChangedEvent, 10)
			if err != nil || len(evs) != 2 {
				t.Fatalf("tier events %+v (%v), want the upgrade and the downgrade", evs, err)
			}
			if string(evs[1].Properties) == "" || len(evRows(t, b, c.ID)) != 1 || len(b.smtp.Messages()) != 1 {
				t.Errorf("after the downgrade: %d rows, %d messages; want the upgrade's only", len(evRows(t, b, c.ID)),
					len(b.smtp.Messages()))
			}
		})
	}
}

// oneCustomer is a bundle on a fake clock at the returned start, with one
// customer, c1, who consents to email.
func oneCustomer(t *testing.T, d store.Dialect) (*bundle, time.Time) {
	t.Helper()
	b := setup(t, d)
	start := time.Now().UTC().Truncate(time.Second)
	b.clock = &fakeClock{t: start}
	b.addCustomers(t, 1, nil)
	return b, start
}
