package worker_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/smtptest"
	"github.com/tidings-crm/tidings/internal/procstat"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// BenchmarkDeliveryEndToEnd measures email throughput from a campaign run to
// the SMTP server (ledger, queue, render, SMTP) on PostgreSQL and Redis, for
// TIDINGS_BENCH_RECIPIENTS recipients (default 100,000), with two engines of
// 32 workers, and the process's peak RSS (the in-process SMTP server keeps
// envelopes only). TIDINGS_BENCH_EMAIL_RATE puts the per-process rate limit
// in front of the sender, as TIDINGS_EMAIL_RATE does. With
// TIDINGS_BENCH_LEDGER_ROWS (e.g. 10000000, a year of a mid-size shop) the
// ledger first holds that many rows of another campaign, spread over the
// past twelve months' partitions (a row of its own in make bench's table):
// the run must cost about what it costs on an empty ledger.
func BenchmarkDeliveryEndToEnd(b *testing.B) {
	if history, _ := strconv.Atoi(os.Getenv("TIDINGS_BENCH_LEDGER_ROWS")); history > 0 {
		b.Run(fmt.Sprintf("ledger=%d", history), func(b *testing.B) { benchDelivery(b, store.Postgres, 2, queueRedis, history) })
		return
	}
	benchDelivery(b, store.Postgres, 2, queueRedis, 0)
}

// BenchmarkDeliveryRedisCluster is BenchmarkDeliveryEndToEnd with the queue
// on a 3-master Redis Cluster: the one at TIDINGS_TEST_REDIS_CLUSTER_URL
// (TIDINGS_TEST_REDIS_CLUSTER=1 scripts/test-services.sh starts it), or a
// private one (redistest.Cluster).
func BenchmarkDeliveryRedisCluster(b *testing.B) {
	benchDelivery(b, store.Postgres, 2, queueCluster, 0)
}

// BenchmarkDeliverySQLite is the same run on the embedded default, as
// `tidings` runs with a SQLite file and TIDINGS_REDIS_URL=embedded: one
// engine, the queue in-process (miniredis), SQLite's pool of 4 connections.
func BenchmarkDeliverySQLite(b *testing.B) {
	benchDelivery(b, store.SQLite, 1, queueEmbedded, 0)
}

// benchQueue is where a delivery benchmark's queue runs.
type benchQueue int

const (
	queueRedis    benchQueue = iota // a logical database of the test Redis
	queueEmbedded                   // in-process (miniredis), as TIDINGS_REDIS_URL=embedded
	queueCluster                    // a Redis Cluster
)

// benchDelivery is one delivery benchmark's runs, on a ledger holding
// history rows first (PostgreSQL).
func benchDelivery(b *testing.B, dialect store.Dialect, engines int, queue benchQueue, history int) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("TIDINGS_BENCH_RECIPIENTS")); err == nil && v > 0 {
		n = v
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bt := b
		var bd *bundle
		switch queue {
		case queueCluster:
			bd = setupCluster(bt, dialect, smtptest.WithoutBodies())
		case queueEmbedded:
			mr := miniredis.RunT(bt)
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			bt.Cleanup(func() { rdb.Close() })
			bd = setupOn(bt, dialect, rdb, smtptest.WithoutBodies())
		default:
			bd = setup(bt, dialect, smtptest.WithoutBodies())
		}
		bd.chans["email"] = bd.emailSender(bt, benchPool)
		if r, err := strconv.Atoi(os.Getenv("TIDINGS_BENCH_EMAIL_RATE")); err == nil && r > 0 {
			bd.chans["email"] = channels.Limited(bd.chans["email"], rate.Limit(r), r)
		}
		bd.addCustomers(bt, n, nil)
		if history > 0 {
			preloadLedger(bt, bd.st, history, n, time.Now())
		}
		c := bd.campaign(bt, newsletterYAML)
		var first *worker.Engine
		for range engines {
			// Production-sized shards (the harness's tiny ones exercise sharding).
			e := bd.engineWith(bt, worker.Options{ShardSize: 5000}, c)
			bd.startWorker(bt, e, 32)
			if first == nil {
				first = e
			}
		}
		key := fmt.Sprintf("bench-%d", i)
		b.StartTimer()
		start, cpu0, srv0, pg0, rds0 := time.Now(), processCPU(), serverCPU(), procstat.PostgresBackends(), redisCPU()
		if err := first.Enqueue(context.Background(), "news", key, start); err != nil {
			b.Fatal(err)
		}
		bd.waitRun(bt, "news", key, 30*time.Minute)
		elapsed, cpu, srv := time.Since(start), processCPU()-cpu0, serverCPU()-srv0
		pg, rds := procstat.PostgresBackends().Since(pg0), redisCPU()-rds0
		b.StopTimer()
		if got := bd.counts(bt, "news")[store.StatusSent]; got != n {
			b.Fatalf("sent %d, want %d", got, n)
		}
		if got := len(bd.smtp.Messages()); got != n {
			b.Fatalf("SMTP server received %d, want %d", got, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
		// CPU per 1,000 messages is steadier than msgs/s on a shared machine.
		// On the embedded default it is everything: database, queue, SMTP server.
		b.ReportMetric(cpu.Seconds()*1000/float64(n), "cpu-s/1k-msgs")
		if srv > 0 && dialect == store.Postgres {
			b.ReportMetric(srv.Seconds()*1000/float64(n), "server-cpu-s/1k-msgs")
		}
		if pg > 0 {
			b.ReportMetric(pg.Seconds()*1000/float64(n), "pg-cpu-s/1k-msgs")
		}
		if rds > 0 && queue != queueEmbedded {
			b.ReportMetric(rds.Seconds()*1000/float64(n), "redis-cpu-s/1k-msgs")
		}
		if history > 0 {
			b.ReportMetric(float64(history), "ledger-rows-before")
		}
	}
}

// preloadLedger writes rows finished ledger rows of a weekly campaign,
// "history", to the customers 1..customers, in one statement
// (generate_series): occurrences of customers rows each, their periods
// and creation times spread over the twelve months before now, each month
// in its partition, as a year of sends leaves them. Then it settles them
// (VACUUM ANALYZE), as autovacuum would have over that year.
func preloadLedger(b *testing.B, st *store.Store, rows, customers int, now time.Time) {
	b.Helper()
	ctx, start := context.Background(), time.Now()
	for m := 12; m >= 0; m-- {
		if _, err := st.MaintainLedger(ctx, now.AddDate(0, -m, 0), 0); err != nil {
			b.Fatal(err)
		}
	}
	occurrences := (rows + customers - 1) / customers
	// Occurrence k went out k*365/occurrences days ago, in the month of
	// its period.
	ago := `make_interval(days => (k * 365 / $2)::int)`
	if _, err := st.DB.ExecContext(ctx, `INSERT INTO delivery_periods (campaign_id, occurrence, period)
		SELECT 'history', 'week-' || k, date_trunc('month', ($1::timestamptz - `+ago+`) AT TIME ZONE 'UTC')::date
		FROM generate_series(0, $2 - 1) AS k`, now, occurrences); err != nil {
		b.Fatal(err)
	}
	if _, err := st.DB.ExecContext(ctx, `INSERT INTO deliveries (campaign_id, customer_id, occurrence, channel, status,
			created_at, updated_at, claimed_at, sent_at, period)
		SELECT 'history', g % $3 + 1, p.occurrence, 'email', CASE WHEN g % 50 = 0 THEN 'suppressed' ELSE 'sent' END,
			t, t, t, t, p.period
		FROM generate_series(0, $4 - 1) AS g
		CROSS JOIN LATERAL (SELECT g / $3 AS k) AS o
		JOIN delivery_periods p ON p.campaign_id = 'history' AND p.occurrence = 'week-' || o.k
		CROSS JOIN LATERAL (SELECT $1::timestamptz - make_interval(days => (o.k * 365 / $2)::int) AS t) AS at`,
		now, occurrences, customers, rows); err != nil {
		b.Fatalf("preload %d ledger rows: %v", rows, err)
	}
	if _, err := st.DB.ExecContext(ctx, `VACUUM ANALYZE deliveries`); err != nil {
		b.Fatal(err)
	}
	b.Logf("preloaded %d ledger rows (%d occurrences of %d customers) in %s", rows, occurrences, customers,
		time.Since(start).Round(time.Second))
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

// processCPU is the user+system CPU time this process has used (workers,
// engines and the in-process SMTP server).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU is the user+system CPU time used so far by the PostgreSQL and
// Redis processes on this machine (0 when /proc cannot tell). It counts
// their work for every client, so on a busy machine it is an upper bound.
func serverCPU() time.Duration { return procstat.CPUOf("postgres", "redis-server") }

// redisCPU is serverCPU of the redis-server processes only (every node of
// a cluster; the other tests' Redis too, when they share the machine).
func redisCPU() time.Duration { return procstat.CPUOf("redis-server") }
