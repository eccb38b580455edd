package chaos

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
)

// faultRun is the shape most drills share: n customers, workers worker
// processes, one newsletter run; once frac of its messages arrived, fault
// runs (it returns when the fault is over: the process restarted, the server
// back). Then the run must finish within timeout; faultRun returns the
// oracle's report and the time from the fault's end to the run's end. No
// asynq task may be left active or archived.
func faultRun(t *testing.T, opts cluster.Options, n, workers int, frac float64, timeout time.Duration,
	fault func(c *cluster.Cluster)) (*cluster.Cluster, cluster.Report, time.Duration) {
	t.Helper()
	ctx := context.Background()
	if opts.DatabaseURL == "" {
		opts.DatabaseURL = cluster.SharedDatabase(t)
	}
	c := cluster.New(t, opts)
	c.Seed(ctx, n)
	for range workers {
		c.Start("worker")
	}
	key := "drill-" + time.Now().UTC().Format("150405")
	c.Trigger(ctx, "news", key)
	c.WaitSent(int(float64(n)*frac), 3*time.Minute)
	fault(c)
	over := time.Now()
	c.WaitRun(ctx, "news", key, timeout)
	recover := time.Since(over)
	c.WaitQueuesIdle(cluster.TaskSettle)
	return c, c.Check(ctx, "news", n), recover
}
