package chaos

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
	"github.com/tidings-crm/tidings/internal/procstat"
	"github.com/tidings-crm/tidings/internal/wait"
)

// scalingWorkerEnv lifts the per-process email rate limit (it stands for a
// relay's limit, which the in-test SMTP server does not have) and sizes each
// worker process as the in-process delivery benchmark sizes its engines.
var scalingWorkerEnv = []string{"TIDINGS_EMAIL_RATE=1000000", "TIDINGS_CONCURRENCY=32", "TIDINGS_SMTP_POOL=16"}

// BenchmarkScaling measures the same email run (the newsletter to
// TIDINGS_BENCH_RECIPIENTS customers, default 20,000) with 1, 2 and 4 real
// `tidings worker` processes on one Redis and one PostgreSQL, to an in-test
// SMTP server: msgs/s from the trigger to the last ledger row decided. Every
// run is checked against the ledger and the SMTP server (each recipient
// exactly once), so a faster figure cannot come from lost or doubled mail.
func BenchmarkScaling(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("TIDINGS_BENCH_RECIPIENTS")); err == nil && v > 0 {
		n = v
	}
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for i := range b.N {
				b.StopTimer()
				c := cluster.New(b, cluster.Options{Env: scalingWorkerEnv})
				ctx := context.Background()
				c.Seed(ctx, n)
				for range workers {
					c.Start("worker")
				}
				waitWorkers(b, c, workers)
				key := fmt.Sprintf("scale-%d-%d", workers, i)
				b.StartTimer()
				start, cpu0, pg0 := time.Now(), workersCPU(c), procstat.PostgresBackends(workerPids(c)...)
				c.Trigger(ctx, "news", key)
				counts := c.WaitRun(ctx, "news", key, 30*time.Minute)
				elapsed := time.Since(start)
				cpu, pg := workersCPU(c)-cpu0, procstat.PostgresBackends(workerPids(c)...).Since(pg0)
				b.StopTimer()
				if rep := c.Check(ctx, "news", n); !rep.OK() || rep.Sent != n {
					b.Fatalf("%d workers: ledger %s; check: %s", workers, cluster.FormatCounts(counts), rep)
				}
				b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
				// Per 1,000 messages: the worker processes' own CPU (the SMTP
				// server is this test process), and that of the PostgreSQL
				// backends serving their connections.
				b.ReportMetric(cpu.Seconds()*1000/float64(n), "tidings-cpu-s/1k-msgs")
				b.ReportMetric(pg.Seconds()*1000/float64(n), "pg-cpu-s/1k-msgs")
				for _, p := range c.Processes() {
					p.Stop() // the next iteration's workers must not share the CPU with these
				}
			}
		})
	}
}

// workerPids lists the cluster's running processes.
func workerPids(c *cluster.Cluster) []int {
	var pids []int
	for _, p := range c.Processes() {
		if p.Running() {
			pids = append(pids, p.Pid())
		}
	}
	return pids
}

// workersCPU is the CPU time the cluster's running processes have used.
func workersCPU(c *cluster.Cluster) time.Duration {
	var total time.Duration
	for _, pid := range workerPids(c) {
		total += procstat.CPU(pid)
	}
	return total
}

// waitWorkers waits until n worker processes have registered with Redis, so
// the measured time holds no process start-up.
func waitWorkers(b *testing.B, c *cluster.Cluster, n int) {
	b.Helper()
	in := asynq.NewInspectorFromRedisClient(c.Redis.UniversalClient())
	var servers []*asynq.ServerInfo
	var err error
	if !wait.UntilEvery(time.Minute, 100*time.Millisecond, func() bool {
		servers, err = in.Servers()
		return err == nil && len(servers) >= n
	}) {
		b.Fatalf("%d worker processes registered with Redis after a minute, want %d (err %v)", len(servers), n, err)
	}
}
