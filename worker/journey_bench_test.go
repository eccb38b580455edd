package worker_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

const sweepBenchYAML = `id: bench
name: Sweep bench
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: email_consent
steps:
  - id: first
    wait: 1d
  - id: check
    branch:
      - if: orders_count > 100
        next: tag
      - else: second
  - id: tag
    update: {tag: big}
  - id: second
    wait: 1d
  - id: hello
    send:
      channels: [email]
      messages:
        email: {subject: "Hello", text: "Hello"}
`

// BenchmarkJourneySweep measures the journey sweep on each database:
// TIDINGS_BENCH_JOURNEY_CUSTOMERS customers (default 20,000) waiting in a
// journey all wake at once, and one sweep moves every one of them through a
// branch into the next wait (a claim, a rule, a transaction each). It reports
// customers/s and the keys Redis holds while they all wait (none of them is
// a Redis task: the figure does not grow with the customers).
func BenchmarkJourneySweep(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("TIDINGS_BENCH_JOURNEY_CUSTOMERS")); err == nil && v > 0 {
		n = v
	}
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				bd := setup(b, d)
				t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
				bd.clock = &fakeClock{t: t0}
				bd.addCustomers(b, n, nil)
				e := bd.engine(b, bd.campaign(b, sweepBenchYAML))
				ctx := context.Background()
				var ids []int64
				if err := bd.st.DB.Select(&ids, `SELECT id FROM customers ORDER BY id`); err != nil {
					b.Fatal(err)
				}
				entries := make([]store.JourneyEntry, len(ids))
				for i, id := range ids {
					entries[i] = store.JourneyEntry{JourneyID: "bench", CustomerID: id, Occurrence: "o", Step: "first"}
				}
				for len(entries) > 0 {
					k := min(len(entries), 1000)
					if _, err := bd.st.EnterJourney(ctx, entries[:k], t0); err != nil {
						b.Fatal(err)
					}
					entries = entries[k:]
				}
				if rep, err := e.SweepJourneys(ctx); err != nil || rep.Advanced != n {
					b.Fatalf("arrival sweep: %+v, %v; want %d advanced", rep, err, n)
				}
				keys, err := bd.rdb.DBSize(ctx).Result()
				if err != nil {
					b.Fatal(err)
				}
				bd.clock.Set(t0.Add(24 * time.Hour))
				b.StartTimer()
				start := time.Now()
				rep, err := e.SweepJourneys(ctx)
				elapsed := time.Since(start)
				b.StopTimer()
				if err != nil || rep.Advanced != n {
					b.Fatalf("wake sweep: %+v, %v; want %d advanced", rep, err, n)
				}
				var waiting int
				if err := bd.st.DB.Get(&waiting, `SELECT count(*) FROM journey_states WHERE step_id = 'second'
					AND status = 'waiting'`); err != nil || waiting != n {
					b.Fatalf("%d customers wait at the second step (%v), want %d", waiting, err, n)
				}
				b.ReportMetric(float64(n)/elapsed.Seconds(), "customers/s")
				b.ReportMetric(float64(keys), fmt.Sprintf("redis-keys-%d-waiting", n))
			}
		})
	}
}
