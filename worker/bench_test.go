package worker_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels/smtptest"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// BenchmarkDeliveryEndToEnd measures email throughput from a campaign run to
// the SMTP server (ledger, queue, render, SMTP) on PostgreSQL and Redis, for
// TIDINGS_BENCH_RECIPIENTS recipients (default 100,000), and the process's
// peak RSS (the in-process SMTP server keeps envelopes only).
func BenchmarkDeliveryEndToEnd(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("TIDINGS_BENCH_RECIPIENTS")); err == nil && v > 0 {
		n = v
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bt := b
		bd := setup(bt, store.Postgres, smtptest.WithoutBodies())
		bd.chans["email"] = bd.emailSender(bt, benchPool)
		bd.addCustomers(bt, n, nil)
		c := bd.campaign(bt, newsletterYAML)
		// Production-sized shards (the harness's tiny ones exercise sharding).
		e := bd.engineWith(bt, worker.Options{ShardSize: 5000}, c)
		e2 := bd.engineWith(bt, worker.Options{ShardSize: 5000}, c)
		bd.startWorker(bt, e, 32)
		bd.startWorker(bt, e2, 32)
		key := fmt.Sprintf("bench-%d", i)
		b.StartTimer()
		start := time.Now()
		if err := e.Enqueue(context.Background(), "news", key, start); err != nil {
			b.Fatal(err)
		}
		bd.waitRun(bt, "news", key, 30*time.Minute)
		elapsed := time.Since(start)
		b.StopTimer()
		if got := bd.counts(bt, "news")[store.StatusSent]; got != n {
			b.Fatalf("sent %d, want %d", got, n)
		}
		if got := len(bd.smtp.Messages()); got != n {
			b.Fatalf("SMTP server received %d, want %d", got, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
	}
}

// benchPool is the SMTP connections per sender in the benchmark: a relay
// accepts several; with one or four the SMTP round trips are the ceiling.
const benchPool = 16

// peakRSSMB reads the process's peak resident set size (VmHWM) in MB.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
