package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// TestReconcilerReenqueuesHalfEvictedTask: Redis evicts the task hashes of
// two queued deliveries; a worker then dequeues their ids, which leaves
// hashes with a state and no message, so the ids conflict for ever and the
// rows stayed pending (issue 13). The reconciler sees the remains are not a
// task, clears them, enqueues again, and both customers get their message
// once.
func TestReconcilerReenqueuesHalfEvictedTask(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b, e, clock, ids, q := staleRowsWorld(t, dialect)
			ctx := context.Background()
			for _, id := range ids {
				if err := q.Deliver(ctx, id, time.Time{}); err != nil {
					t.Fatal(err)
				}
				b.rdb.Del(ctx, fmt.Sprintf("asynq:{%s}:t:deliver:%d", worker.QueueDeliver, id)) // evicted
			}
			b.acceptWorker(t, e, workerConfig{concurrency: 2})
			pending := "asynq:{" + worker.QueueDeliver + "}:pending"
			waitUntil(t, 15*time.Second, "the worker to dequeue the evicted ids", func() bool {
				return b.rdb.LLen(ctx, pending).Val() == 0
			})
			for _, id := range ids {
				key := fmt.Sprintf("asynq:{%s}:t:deliver:%d", worker.QueueDeliver, id)
				if state := b.rdb.HGet(ctx, key, "state").Val(); state != "active" || b.rdb.HExists(ctx, key, "msg").Val() {
					t.Fatalf("%s: state %q; want the remains of a dequeue (a state, no message)", key, state)
				}
			}
			if got := b.counts(t, "news"); got[store.StatusPending] != 2 {
				t.Fatalf("ledger %v before reconciling; want both rows stranded pending", got)
			}

			clock.Advance(90 * time.Second) // past the reconciler's staleness window
			rep, err := e.Reconcile(ctx)
			if err != nil || rep.Requeued != 2 {
				t.Fatalf("reconcile: %+v, %v; want 2 requeued", rep, err)
			}
			waitUntil(t, 20*time.Second, "both stranded rows to be sent", func() bool {
				return b.counts(t, "news")[store.StatusSent] == 2
			})
			got := b.receivedBy()
			for i := 1; i <= 2; i++ {
				if addr := fmt.Sprintf("customer%d@example.com", i); got[addr] != 1 {
					t.Errorf("%s received %d messages, want 1", addr, got[addr])
				}
			}
		})
	}
}

// staleRowsWorld is two customers with a pending newsletter row each
// (ids), an engine on a clock the test moves, and an enqueuer on its Redis.
func staleRowsWorld(t *testing.T, dialect store.Dialect) (*bundle, *worker.Engine, *skewClock, []int64, *worker.Enqueuer) {
	t.Helper()
	b := setup(t, dialect)
	b.addCustomers(t, 2, nil)
	clock := &skewClock{}
	e := b.engineWith(t, worker.Options{Now: clock.Now}, b.campaign(t, newsletterYAML))
	return b, e, clock, pendingRows(t, b, "news", 2), &worker.Enqueuer{Client: asynq.NewClientFromRedisClient(b.rdb)}
}

// pendingRows writes one pending ledger row of campaign per customer c1..cn
// and returns their ids.
func pendingRows(t *testing.T, b *bundle, campaign string, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	var rows []store.NewDelivery
	for i := 1; i <= n; i++ {
		cust, err := b.st.CustomerByExternalID(ctx, fmt.Sprintf("c%d", i))
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, store.NewDelivery{CampaignID: campaign, CustomerID: cust.ID, Occurrence: "k1",
			Channel: "email", Status: store.StatusPending})
	}
	in, err := b.st.InsertDeliveries(ctx, rows, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(in))
	for i, r := range in {
		ids[i] = r.ID
	}
	return ids
}

// TestReconcilerCountsOnlyRecreatedTasks: of two stale waiting rows, one
// still has its task queued in Redis and one lost it. The reconciler enqueues
// both (task ids make that harmless) but reports one requeued: the count says
// what was repaired, not what was looked at.
func TestReconcilerCountsOnlyRecreatedTasks(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b, e, clock, ids, q := staleRowsWorld(t, dialect)
			ctx := context.Background()
			if err := q.Deliver(ctx, ids[0], time.Time{}); err != nil { // ids[1]'s task is lost
				t.Fatal(err)
			}
			clock.Advance(90 * time.Second) // past the reconciler's staleness window
			rep, err := e.Reconcile(ctx)
			if err != nil || rep.Requeued != 1 {
				t.Fatalf("reconcile: %+v, %v; want 1 requeued (the row whose task was lost)", rep, err)
			}
			pending := "asynq:{" + worker.QueueDeliver + "}:pending"
			if n := b.rdb.LLen(ctx, pending).Val(); n != 2 {
				t.Fatalf("%d tasks queued after reconciling, want 2 (one each)", n)
			}
		})
	}
}
