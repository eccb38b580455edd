package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/internal/wait"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// A complaint storm about a campaign's first batch (the callbacks every
// receiver turns into Store.RecordFeedback) pauses it: its next batch, sent
// by a worker that read the pauses a moment before, sends nothing and holds
// its messages.
func TestComplaintStormPausesBeforeNextBatch(t *testing.T) {
	t.Parallel()
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setup(t, d)
			if err := b.st.SetFeedbackPolicy(store.FeedbackPolicy{SoftBounceLimit: 3, SoftBounceWindow: time.Hour,
				ComplaintRate: 0.001, HardBounceRate: 0.05, MinSample: 20}); err != nil {
				t.Fatal(err)
			}
			c := b.campaign(t, newsletterYAML)
			e := b.engine(t, c)
			b.startWorker(t, e, 4)
			b.addCustomers(t, 60, nil)
			var rows []store.NewDelivery
			for id := int64(1); id <= 60; id++ {
				rows = append(rows, store.NewDelivery{CampaignID: c.ID, CustomerID: id, Occurrence: "storm",
					Channel: channels.Email, Status: store.StatusPending})
			}
			ins, err := b.st.InsertDeliveries(ctx, rows, time.Now())
			if err != nil || len(ins) != 60 {
				t.Fatalf("insert: %d rows, %v", len(ins), err)
			}
			ids := make([]int64, len(ins))
			for i, r := range ins {
				ids[i] = r.ID
			}
			q := &worker.Enqueuer{Client: asynq.NewClientFromRedisClient(b.rdb), Redis: b.rdb, Logger: quietLogger()}
			if err := q.DeliverBatch(ctx, ids[:30]); err != nil {
				t.Fatal(err)
			}
			wait.For(t, 30*time.Second, "the first batch sent", func() bool { return b.counts(t, c.ID)[store.StatusSent] == 30 })
			if paused, err := e.Paused(ctx, c.ID); err != nil || paused {
				t.Fatalf("paused before the storm: %v, %v", paused, err) // and the engine has just read the pauses
			}
			// Complaints about 2 of the 30 sent: 6.7%, past 0.1%.
			var reason string
			for i := range 2 {
				res, err := b.st.RecordFeedback(ctx, store.Feedback{Provider: "ses", EventID: fmt.Sprint("storm-", i),
					Type: store.FeedbackComplaint, Channel: channels.Email, DeliveryID: ids[i]})
				if err != nil {
					t.Fatal(err)
				}
				reason += res.Paused
			}
			if reason == "" {
				t.Fatal("the complaints did not pause the campaign")
			}
			if err := q.DeliverBatch(ctx, ids[30:]); err != nil {
				t.Fatal(err)
			}
			wait.For(t, 30*time.Second, "the second batch held", func() bool { return b.counts(t, c.ID)[store.StatusDeferred] == 30 })
			if n := b.counts(t, c.ID)[store.StatusSent]; n != 30 || len(b.smtp.Messages()) != 30 {
				t.Fatalf("sent %d rows, %d messages after the pause; want 30", n, len(b.smtp.Messages()))
			}
			rep, err := e.Report(ctx, c.ID)
			if err != nil || rep.Paused != reason || rep.Arms[0].Complained != 2 {
				t.Fatalf("report: paused %q, complained %d, %v", rep.Paused, rep.Arms[0].Complained, err)
			}
			st, err := e.Status(ctx, c.ID)
			if err != nil || st.Status != "paused" || st.PauseReason != reason {
				t.Fatalf("status = %+v, %v", st, err)
			}
		})
	}
}
