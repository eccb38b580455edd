package worker_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/channels/smtptest"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// BenchmarkDeliverySQLite is BenchmarkDeliveryEndToEnd on the embedded
// default, as `tidings` runs with a SQLite file and TIDINGS_REDIS_URL=embedded:
// one process, the queue in-process (miniredis), SQLite's default pool of 4
// connections. TIDINGS_BENCH_RECIPIENTS recipients (default 100,000).
func BenchmarkDeliverySQLite(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("TIDINGS_BENCH_RECIPIENTS")); err == nil && v > 0 {
		n = v
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bt := b
		bd := setup(bt, store.SQLite, smtptest.WithoutBodies())
		mr := miniredis.RunT(bt)
		bd.rdb = redis.NewClient(&redis.Options{Addr: mr.Addr()})
		bt.Cleanup(func() { bd.rdb.Close() })
		bd.chans["email"] = bd.emailSender(bt, benchPool)
		bd.addCustomers(bt, n, nil)
		c := bd.campaign(bt, newsletterYAML)
		e := bd.engineWith(bt, worker.Options{ShardSize: 5000}, c)
		bd.startWorker(bt, e, 32)
		key := fmt.Sprintf("bench-sqlite-%d", i)
		b.StartTimer()
		start, cpu0 := time.Now(), processCPU()
		if err := e.Enqueue(context.Background(), "news", key, start); err != nil {
			b.Fatal(err)
		}
		bd.waitRun(bt, "news", key, 30*time.Minute)
		elapsed, cpu := time.Since(start), processCPU()-cpu0
		b.StopTimer()
		if got := bd.counts(bt, "news")[store.StatusSent]; got != n {
			b.Fatalf("sent %d, want %d", got, n)
		}
		if got := len(bd.smtp.Messages()); got != n {
			b.Fatalf("SMTP server received %d, want %d", got, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
		// Everything (database, queue, SMTP server) is this one process.
		b.ReportMetric(cpu.Seconds()*1000/float64(n), "cpu-s/1k-msgs")
	}
}
