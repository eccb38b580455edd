package chaos

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
	"github.com/tidings-crm/tidings/internal/redisserver"
	"github.com/tidings-crm/tidings/worker"
)

// TestRedisFlushAllMidRun is reliability scenario 6: FLUSHALL wipes the
// queue at 30% of a run. Nobody intervenes: the workers' reconciler finds the
// ledger rows whose tasks are gone and enqueues them again; the run
// completes with nothing lost and nothing doubled.
func TestRedisFlushAllMidRun(t *testing.T) {
	drill(t)
	flushAllDrill(t, cluster.Options{}, "b. Redis FLUSHALL at 30%")
}

// TestRedisClusterFlushAllMidRun is scenario 6 on a 3-master Redis Cluster:
// FLUSHALL on every master. Full form only (clusterDrill).
func TestRedisClusterFlushAllMidRun(t *testing.T) {
	clusterDrill(t)
	flushAllDrill(t, cluster.Options{RedisCluster: true}, "b. Cluster: FLUSHALL at 30%")
}

// clusterDrill is drill for the Redis Cluster drills, which run in the full
// form only: they repeat drills make test already runs on one server, and
// each waits a minute or more for the reconciler (the engine's own cluster
// test, worker.TestCampaignOnRedisCluster, runs in make test).
func clusterDrill(t *testing.T) {
	t.Helper()
	if !full() {
		t.Skip("the Redis Cluster drills run in the full form (TIDINGS_CHAOS=full, make chaos)")
	}
	drill(t)
}

func flushAllDrill(t *testing.T, opts cluster.Options, scenario string) {
	n := pick(10000, 2000)
	_, rep, recover := faultRun(t, opts, n, 2, 0.3, 6*time.Minute, func(c *cluster.Cluster) {
		if err := c.Redis.FlushAll(context.Background()); err != nil {
			t.Fatalf("FLUSHALL: %v", err)
		}
		t.Logf("FLUSHALL after %d messages", len(c.SMTP.Messages()))
	})
	if rep.Unknown != 0 {
		t.Errorf("%d rows unknown: no worker died, none should be", rep.Unknown)
	}
	record(t, scenario, rep, recover, "")
}

// TestRedisRestartMidRun is reliability scenario 5 (without persistence):
// Redis is killed at 30% of a run and comes back empty 3 s later. Workers
// reconnect on their own and the reconciler rebuilds the queue from the
// ledger.
func TestRedisRestartMidRun(t *testing.T) {
	drill(t)
	restartDrill(t, cluster.Options{}, "b. Redis restart (empty) at 30%", "down 3 s, no persistence",
		func(c *cluster.Cluster) { c.Redis.Restart(3 * time.Second) })
}

// TestRedisClusterRestartMidRun is scenario 5 on a 3-master Redis Cluster
// without replicas: the master holding the delivery queue is killed and comes
// back empty 3 s later. Meanwhile the cluster sees a master fail and refuses
// every command, on every node; the other queue (planning) keeps its tasks.
// Full form only (clusterDrill).
func TestRedisClusterRestartMidRun(t *testing.T) {
	clusterDrill(t)
	restartDrill(t, cluster.Options{RedisCluster: true}, "b. Cluster: master restart at 30%",
		"deliver queue's master down 3 s", func(c *cluster.Cluster) {
			rc := c.Redis.(*redisserver.Cluster)
			m, err := rc.MasterOf(context.Background(), "asynq:{"+worker.QueueDeliver+"}:pending")
			if err != nil {
				t.Fatalf("find the delivery queue's master: %v", err)
			}
			rc.RestartMaster(m, 3*time.Second)
		})
}

func restartDrill(t *testing.T, opts cluster.Options, scenario, note string, restart func(c *cluster.Cluster)) {
	n := pick(10000, 2000)
	_, rep, recover := faultRun(t, opts, n, 2, 0.3, 6*time.Minute, func(c *cluster.Cluster) {
		t.Logf("killing Redis after %d messages", len(c.SMTP.Messages()))
		restart(c)
	})
	if rep.Unknown != 0 {
		t.Errorf("%d rows unknown: no worker died, none should be", rep.Unknown)
	}
	record(t, scenario, rep, recover, note)
}
