package chaos

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
)

// TestRedisFlushAllMidRun is reliability scenario 6: FLUSHALL wipes the
// queue at 30% of a run. Nobody intervenes: the workers' reconciler finds the
// ledger rows whose tasks are gone and enqueues them again; the run
// completes with nothing lost and nothing doubled.
func TestRedisFlushAllMidRun(t *testing.T) {
	drill(t)
	n := pick(10000, 2000)
	_, rep, recover := faultRun(t, cluster.Options{}, n, 2, 0.3, 6*time.Minute, func(c *cluster.Cluster) {
		if err := c.Redis.FlushAll(context.Background()); err != nil {
			t.Fatalf("FLUSHALL: %v", err)
		}
		t.Logf("FLUSHALL after %d messages", len(c.SMTP.Messages()))
	})
	if rep.Unknown != 0 {
		t.Errorf("%d rows unknown: no worker died, none should be", rep.Unknown)
	}
	record(t, "b. Redis FLUSHALL at 30%", rep, recover, "")
}

// TestRedisRestartMidRun is reliability scenario 5 (without persistence):
// Redis is killed at 30% of a run and comes back empty 3 s later. Workers
// reconnect on their own and the reconciler rebuilds the queue from the
// ledger.
func TestRedisRestartMidRun(t *testing.T) {
	drill(t)
	n := pick(10000, 2000)
	_, rep, recover := faultRun(t, cluster.Options{}, n, 2, 0.3, 6*time.Minute, func(c *cluster.Cluster) {
		t.Logf("killing Redis after %d messages", len(c.SMTP.Messages()))
		c.Redis.Restart(3 * time.Second)
	})
	if rep.Unknown != 0 {
		t.Errorf("%d rows unknown: no worker died, none should be", rep.Unknown)
	}
	record(t, "b. Redis restart (empty) at 30%", rep, recover, "down 3 s, no persistence")
}
