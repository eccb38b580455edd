package worker

import (
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// Metrics are the engine's Prometheus series. A nil *Metrics records nothing,
// so tests and tools that do not serve /metrics need not build one.
type Metrics struct {
	Runs        *prometheus.CounterVec   // campaign runs evaluated, by campaign
	Audience    *prometheus.GaugeVec     // matching customers of the last evaluated shard set, by campaign
	Planned     *prometheus.CounterVec   // ledger rows written, by campaign and status
	Sends       *prometheus.CounterVec   // send outcomes, by channel and status
	SendSeconds *prometheus.HistogramVec // provider send latency, by channel
	StaleScores *prometheus.CounterVec   // customers evaluated with missing or stale scores, by campaign
}

// NewMetrics creates the series and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Runs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tidings", Name: "campaign_runs_total",
			Help: "Campaign runs fully evaluated."}, []string{"campaign"}),
		Audience: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "tidings", Name: "campaign_audience",
			Help: "Customers matching the campaign in its last evaluated shard."}, []string{"campaign"}),
		Planned: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tidings", Name: "deliveries_planned_total",
			Help: "Ledger rows written by runs and events, by status (pending, deferred, holdout, suppressed, capped, expired)."},
			[]string{"campaign", "status"}),
		Sends: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tidings", Name: "sends_total",
			Help: "Send attempts by channel and outcome (sent, failed, unknown, retry)."}, []string{"channel", "status"}),
		SendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "tidings", Name: "send_seconds",
			Help: "Time the provider took to accept a message.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)},
			[]string{"channel"}),
		StaleScores: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tidings", Name: "stale_scores_total",
			Help: "Customers a run evaluated on missing or stale scores (lifecycle, rfm, p_alive, clv), by campaign."},
			[]string{"campaign"}),
	}
	reg.MustRegister(m.Runs, m.Audience, m.Planned, m.Sends, m.SendSeconds, m.StaleScores)
	return m
}

func (m *Metrics) planned(campaign string, counts map[string]int) {
	if m == nil {
		return
	}
	for _, st := range []string{"pending", "deferred", "holdout", "suppressed", "capped", "expired"} {
		if n := counts[st]; n > 0 {
			m.Planned.WithLabelValues(campaign, st).Add(float64(n))
		}
	}
	m.Audience.WithLabelValues(campaign).Set(float64(counts["matched"]))
}

func (m *Metrics) staleScores(campaign string, n int) {
	if m != nil {
		m.StaleScores.WithLabelValues(campaign).Add(float64(n))
	}
}

func (m *Metrics) runDone(campaign string) {
	if m != nil {
		m.Runs.WithLabelValues(campaign).Inc()
	}
}

func (m *Metrics) sent(channel channels.Name, status store.Status, took time.Duration) {
	if m == nil {
		return
	}
	m.Sends.WithLabelValues(string(channel), string(status)).Inc()
	if status == store.StatusSent {
		m.SendSeconds.WithLabelValues(string(channel)).Observe(took.Seconds())
	}
}

// QueueDepth exports the asynq queues' sizes (pending, scheduled, retry,
// active) as gauges read on each scrape.
type QueueDepth struct {
	Inspector *asynq.Inspector
	desc      *prometheus.Desc
}

// NewQueueDepth returns a collector over inspector; register it.
func NewQueueDepth(inspector *asynq.Inspector) *QueueDepth {
	return &QueueDepth{Inspector: inspector, desc: prometheus.NewDesc("tidings_queue_tasks",
		"Tasks in the job queue by queue and state.", []string{"queue", "state"}, nil)}
}

// Describe implements prometheus.Collector.
func (q *QueueDepth) Describe(ch chan<- *prometheus.Desc) { ch <- q.desc }

// Collect implements prometheus.Collector.
func (q *QueueDepth) Collect(ch chan<- prometheus.Metric) {
	for _, name := range []string{QueueDeliver, QueuePlan} {
		info, err := q.Inspector.GetQueueInfo(name)
		if err != nil {
			continue // a queue that never had a task does not exist yet
		}
		for state, n := range map[string]int{"pending": info.Pending, "scheduled": info.Scheduled,
			"retry": info.Retry, "active": info.Active, "archived": info.Archived} {
			ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, float64(n), name, state)
		}
	}
}
