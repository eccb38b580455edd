package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/worker"
)

// benchSize reads a size from the environment variable name, else def.
func benchSize(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

const threeSendsYAML = `id: three
name: Three sends
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: email_consent
frequency: {class: transactional}
steps:
  - id: one
    send:
      channels: [email]
      messages:
        email: {subject: "One", text: "One for {{ .external_id }}"}
  - id: pause
    wait: 1d
  - id: two
    send:
      channels: [email]
      messages:
        email: {subject: "Two", text: "Two for {{ .external_id }}"}
  - id: again
    wait: 1d
  - id: three
    send:
      channels: [email]
      messages:
        email: {subject: "Three", text: "Three for {{ .external_id }}"}
`

// BenchmarkJourneyEndToEnd runs a 3-send journey (send, wait 1d, send,
// wait 1d, send) for TIDINGS_BENCH_JOURNEY_SENDS customers (default
// 100,000) on PostgreSQL, the production database: they enter through a
// run, and each simulated day one sweep moves them all while 8 worker
// goroutines send to the SMTP test server. It reports steps/s (5 steps per
// customer, from the run to the last email received), msgs/s and the
// process's peak RSS, and fails unless the server received exactly three
// emails per customer.
func BenchmarkJourneyEndToEnd(b *testing.B) {
	n := benchSize("TIDINGS_BENCH_JOURNEY_SENDS", 100000)
	for range b.N {
		b.StopTimer()
		bd := setup(b, store.Postgres)
		t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
		bd.clock = &fakeClock{t: t0}
		bd.addCustomers(b, n, nil)
		e := bd.engine(b, bd.campaign(b, threeSendsYAML))
		bd.acceptWorker(b, e, workerConfig{concurrency: 8})
		ctx := context.Background()
		runtime.GC()
		resetPeakRSS(b)
		b.StartTimer()
		start := time.Now()
		if err := e.Enqueue(ctx, "three", "bench", t0); err != nil {
			b.Fatal(err)
		}
		bd.waitPlanned(b, "three", "bench")
		for day := range 3 {
			bd.clock.Set(t0.Add(time.Duration(day)*24*time.Hour + time.Minute))
			if _, err := e.SweepJourneys(ctx); err != nil {
				b.Fatal(err)
			}
			bd.smtp.WaitMessages(b, n*(day+1), 10*time.Minute)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if got := len(bd.smtp.Messages()); got != 3*n {
			b.Fatalf("the SMTP server received %d emails, want %d", got, 3*n)
		}
		b.ReportMetric(float64(5*n)/elapsed.Seconds(), "steps/s")
		b.ReportMetric(float64(3*n)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
	}
}

const wakeYAML = `id: wake
name: Wake
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: email_consent
frequency: {class: transactional}
steps:
  - id: listen
    wait_for: {event: cart_updated, timeout: 30d, on_event: nudge, on_timeout: done}
  - id: nudge
    send:
      channels: [email]
      messages:
        email: {subject: "Your cart", text: "Your cart, {{ .external_id }}"}
  - id: done
    exit: finished
`

// BenchmarkJourneyWakeLatency measures how soon an event wakes a customer
// waiting for it, on PostgreSQL with the production worker settings
// (worker.TaskCheckInterval, the 2 s sweep interval):
// TIDINGS_BENCH_WAKE_WAITING customers (default 100,000) wait in a
// wait_for; TIDINGS_BENCH_WAKE_EVENTS of them (default 1,000) are sent
// a cart_updated through the events API's HTTP handler, 4 clients at about
// 50 events/s in all. A latency runs from the moment the event's request
// was sent (an upper bound on its commit, which the 2xx answer follows) to
// the ledger row the woken send step writes (its created_at): p50 and p99.
// It fails unless every event woke its customer once.
func BenchmarkJourneyWakeLatency(b *testing.B) {
	waiting, events := benchSize("TIDINGS_BENCH_WAKE_WAITING", 100000), benchSize("TIDINGS_BENCH_WAKE_EVENTS", 1000)
	for range b.N {
		b.StopTimer()
		bd := setup(b, store.Postgres)
		bd.addCustomers(b, waiting, nil)
		e := bd.engine(b, bd.campaign(b, wakeYAML))
		bd.acceptWorker(b, e, workerConfig{concurrency: 8, taskCheck: worker.TaskCheckInterval})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := e.Enqueue(ctx, "wake", "bench", time.Now()); err != nil {
			b.Fatal(err)
		}
		bd.waitPlanned(b, "wake", "bench")
		if _, err := e.SweepJourneys(ctx); err != nil {
			b.Fatal(err)
		}
		go e.RunJourneySweeper(ctx, 2*time.Second)
		h, err := triggers.NewWebhook(triggers.WebhookOptions{Secrets: evSecret, Store: bd.st, Logger: quietLogger(),
			Reactor: &worker.Enqueuer{Client: asynq.NewClientFromRedisClient(bd.rdb), Redis: bd.rdb}})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		sentAt := make([]time.Time, events+1)
		b.StartTimer()
		var wg sync.WaitGroup
		for c := range 4 {
			wg.Go(func() {
				tick := time.NewTicker(80 * time.Millisecond) // 4 clients: about 50 events/s
				defer tick.Stop()
				for i := c + 1; i <= events; i += 4 {
					<-tick.C
					sentAt[i] = time.Now()
					body := fmt.Sprintf(`{"type": "cart_updated", "customer": "c%d", "time": %q, "properties": {"total": 60}}`,
						i, sentAt[i].UTC().Format(time.RFC3339Nano))
					req, err := triggers.SignedRequest(ctx, evSecret, srv.URL+triggers.PathEvents, fmt.Sprintf("wake-%d", i),
						sentAt[i], []byte(body))
					if err != nil {
						b.Error(err)
						return
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						b.Errorf("event %d: %s", i, resp.Status)
					}
				}
			})
		}
		wg.Wait()
		var woken []struct {
			Ext     string    `db:"external_id"`
			Created time.Time `db:"created_at"`
		}
		waitUntil(b, 2*time.Minute, "every event's customer to be woken", func() bool {
			woken = woken[:0]
			err := bd.st.DB.Select(&woken, `SELECT c.external_id, d.created_at FROM deliveries d
				JOIN customers c ON c.id = d.customer_id WHERE d.campaign_id = 'wake'`)
			return err == nil && len(woken) >= events
		})
		b.StopTimer()
		if len(woken) != events {
			b.Fatalf("%d customers woken, want %d", len(woken), events)
		}
		lat := make([]float64, 0, events)
		for _, w := range woken {
			i, err := strconv.Atoi(strings.TrimPrefix(w.Ext, "c"))
			if err != nil || i < 1 || i > events {
				b.Fatalf("woken customer %q was sent no event", w.Ext)
			}
			lat = append(lat, float64(w.Created.Sub(sentAt[i]).Microseconds())/1000)
		}
		var reacted []time.Time
		if err := bd.st.DB.Select(&reacted, `SELECT processed_at FROM webhook_inbox WHERE event_id LIKE 'wake-%'
			ORDER BY CAST(SUBSTR(event_id, 6) AS INTEGER)`); err != nil || len(reacted) != events {
			b.Fatalf("%d reactions (%v), want %d", len(reacted), err, events)
		}
		react := make([]float64, events)
		for i, at := range reacted {
			react[i] = float64(at.Sub(sentAt[i+1]).Microseconds()) / 1000
		}
		slices.Sort(react)
		slices.Sort(lat)
		b.ReportMetric(react[len(react)/2], "reacted-p50-ms")
		b.ReportMetric(lat[len(lat)/2], "p50-ms")
		b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
		b.ReportMetric(lat[len(lat)-1], "max-ms")
	}
}

// BenchmarkJourneyWaiting measures what customers cost while they wait, on
// PostgreSQL and Redis: 10,000 customers, then TIDINGS_BENCH_JOURNEY_WAITING
// (default 1,000,000), wait in a 30-day wait (their states written by one
// INSERT ... SELECT, as a sweep leaves them); a worker and its sweeper run
// over them for a few sweeps with nothing due. It reports, at both sizes,
// the memory and number of the keys in the test's Redis database (the same at both: a waiting customer is a
// row, not a task), the process's heap and RSS after a sweep, how long
// a sweep with nothing due takes (the due index, not a scan), and the size
// of journey_states with its indexes per waiting customer.
func BenchmarkJourneyWaiting(b *testing.B) {
	large := benchSize("TIDINGS_BENCH_JOURNEY_WAITING", 1000000)
	for range b.N {
		b.StopTimer()
		bd := setup(b, store.Postgres)
		t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
		bd.clock = &fakeClock{t: t0}
		e := bd.engine(b, bd.campaign(b, threeSendsYAML))
		bd.acceptWorker(b, e, workerConfig{concurrency: 8, taskCheck: worker.TaskCheckInterval})
		ctx := context.Background()
		have := 0
		for _, n := range []int{10000, large} {
			fillWaiting(b, bd, have, n, t0)
			have = n
			var sweep time.Duration
			for range 3 {
				start := time.Now()
				rep, err := e.SweepJourneys(ctx)
				sweep = time.Since(start)
				if err != nil || rep.Claimed != 0 {
					b.Fatalf("a sweep with nothing due: %+v, %v", rep, err)
				}
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			used, keys := redisUsed(b, bd)
			b.ReportMetric(used/1e6, fmt.Sprintf("redis-MB-%d-waiting", n))
			b.ReportMetric(float64(keys), fmt.Sprintf("redis-keys-%d-waiting", n))
			b.ReportMetric(float64(ms.HeapInuse)/1e6, fmt.Sprintf("heap-MB-%d-waiting", n))
			b.ReportMetric(rssMB(), fmt.Sprintf("RSS-MB-%d-waiting", n))
			b.ReportMetric(float64(sweep.Microseconds())/1000, fmt.Sprintf("idle-sweep-ms-%d-waiting", n))
			var table int64 // the journey_states table with its indexes: what a waiting customer costs instead
			if err := bd.st.DB.GetContext(ctx, &table, `SELECT pg_total_relation_size('journey_states')`); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(table)/float64(n), fmt.Sprintf("sql-B-per-customer-%d-waiting", n))
		}
	}
}

// fillWaiting makes customers have+1..n and has each wait at the journey
// three's step pause for 30 days.
func fillWaiting(b *testing.B, bd *bundle, have, n int, t0 time.Time) {
	b.Helper()
	ctx := context.Background()
	if _, err := bd.st.DB.ExecContext(ctx, `INSERT INTO customers (external_id, email, email_consent)
		SELECT 'w' || g, 'w' || g || '@example.com', true FROM generate_series($1::bigint, $2::bigint) g`, have+1, n); err != nil {
		b.Fatal(err)
	}
	if _, err := bd.st.DB.ExecContext(ctx, `INSERT INTO journey_states (journey_id, customer_id, occurrence, step_id,
		visit, status, step_since, wake_at, due_at, exit_events, entered_at, updated_at)
		SELECT 'three', id, 'bench', 'pause', 2, 'waiting', $1, $2, $2, '', $1, $1
		FROM customers WHERE external_id LIKE 'w%' AND id NOT IN (SELECT customer_id FROM journey_states)`,
		t0, t0.Add(30*24*time.Hour)); err != nil {
		b.Fatal(err)
	}
	var waiting int
	if err := bd.st.DB.GetContext(ctx, &waiting, `SELECT count(*) FROM journey_states WHERE status = 'waiting'`); err != nil || waiting != n {
		b.Fatalf("%d customers wait (%v), want %d", waiting, err, n)
	}
	if _, err := bd.st.DB.ExecContext(ctx, `ANALYZE journey_states`); err != nil {
		b.Fatal(err)
	}
}

// redisUsed is the memory (MEMORY USAGE, summed) and number of the keys in
// the test's Redis database: this engine's, apart from what other tests
// hold on the same server.
func redisUsed(b *testing.B, bd *bundle) (float64, int64) {
	b.Helper()
	ctx := context.Background()
	var used float64
	var keys int64
	iter := bd.rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		n, err := bd.rdb.MemoryUsage(ctx, iter.Val()).Result()
		if err != nil {
			continue // expired meanwhile
		}
		used += float64(n)
		keys++
	}
	if err := iter.Err(); err != nil {
		b.Fatal(err)
	}
	return used, keys
}

// rssMB reads the process's resident set size (VmRSS) in MB.
func rssMB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
