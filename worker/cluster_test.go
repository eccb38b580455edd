package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
)

// TestCampaignOnRedisCluster: a newsletter planned in shards and delivered
// by two engines whose queue is a 3-master Redis Cluster reaches every
// customer once through a real SMTP server; firing the same occurrence again
// (its run task enqueued anew, the task-id check running on the cluster)
// sends nothing more.
func TestCampaignOnRedisCluster(t *testing.T) {
	t.Parallel()
	b := setupCluster(t, store.Postgres)
	const n = 300
	b.addCustomers(t, n, nil)
	c := b.campaign(t, newsletterYAML)
	e1, e2 := b.engine(t, c), b.engine(t, c)
	b.startWorker(t, e1, 8)
	b.startWorker(t, e2, 8)
	ctx := context.Background()
	for range 2 {
		if err := e1.Enqueue(ctx, "news", "cluster", time.Now()); err != nil {
			t.Fatal(err)
		}
		b.waitRun(t, "news", "cluster", 2*time.Minute)
		b.waitIdle(t)
	}
	if got := b.counts(t, "news"); got[store.StatusSent] != n || len(got) != 1 {
		t.Errorf("ledger %v; want %d sent", got, n)
	}
	got := b.receivedBy()
	if len(got) != n {
		t.Errorf("%d customers received mail; want %d", len(got), n)
	}
	for i := 1; i <= n; i++ {
		if to := fmt.Sprintf("customer%d@example.com", i); got[to] != 1 {
			t.Errorf("customer %d received %d messages; want 1", i, got[to])
		}
	}
	queues, err := asynqInspector(b).Queues()
	if err != nil || len(queues) < 2 {
		t.Errorf("queues on the cluster: %v, %v; want the plan and deliver queues", queues, err)
	}
}
