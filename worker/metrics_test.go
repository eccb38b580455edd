package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// TestMetricsMoveWhenACampaignRuns: the Prometheus series count the run, the
// planned rows and the sends, and the queue collector reports the queues.
func TestMetricsMoveWhenACampaignRuns(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	const n = 12
	b.addCustomers(t, n, nil)
	c := b.campaign(t, newsletterYAML)
	reg := prometheus.NewRegistry()
	m := worker.NewMetrics(reg)
	e := b.engineWith(t, worker.Options{Metrics: m}, c)
	b.startWorker(t, e, 4)
	if err := e.Enqueue(context.Background(), "news", "k1", time.Now()); err != nil {
		t.Fatal(err)
	}
	b.waitRun(t, "news", "k1", 30*time.Second)
	if got := testutil.ToFloat64(m.Sends.WithLabelValues("email", "sent")); got != n {
		t.Errorf("tidings_sends_total{email,sent} = %v, want %d", got, n)
	}
	if got := testutil.ToFloat64(m.Planned.WithLabelValues("news", "pending")); got != n {
		t.Errorf("tidings_deliveries_planned_total{news,pending} = %v, want %d", got, n)
	}
	if got := testutil.ToFloat64(m.Runs.WithLabelValues("news")); got != 1 {
		t.Errorf("tidings_campaign_runs_total{news} = %v, want 1", got)
	}
	if got := testutil.CollectAndCount(m.SendSeconds); got != 1 {
		t.Errorf("send_seconds series = %d, want 1", got)
	}
	qd := worker.NewQueueDepth(asynqInspector(b))
	if got := testutil.CollectAndCount(qd); got == 0 {
		t.Error("queue depth collector reported no series after a run")
	}
}
