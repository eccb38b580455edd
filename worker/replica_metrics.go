package worker

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings-crm/tidings/store"
)

// ReplicaMetrics exports the read replica's state on each scrape:
// tidings_replica_up (1 when it answers as a standby), tidings_replica_lag_seconds
// (0 when it has replayed all the primary wrote, else the age of its last
// replayed transaction), tidings_replica_behind_bytes, and
// tidings_replica_fallbacks_total, the reads that failed on it and ran on the
// primary in this process.
type ReplicaMetrics struct {
	st                            *store.Store
	up, lag, behind, fallbackDesc *prometheus.Desc
}

// NewReplicaMetrics returns the collector over st (which has a replica
// attached); register it.
func NewReplicaMetrics(st *store.Store) *ReplicaMetrics {
	return &ReplicaMetrics{st: st,
		up: prometheus.NewDesc("tidings_replica_up",
			"1 when the read replica answers and is a standby (in recovery), else 0.", nil, nil),
		lag: prometheus.NewDesc("tidings_replica_lag_seconds",
			"How old the read replica's data may be: 0 when it has replayed all the primary wrote, "+
				"else the age of its last replayed transaction.", nil, nil),
		behind: prometheus.NewDesc("tidings_replica_behind_bytes",
			"Bytes of WAL the primary wrote that the read replica has not replayed.", nil, nil),
		fallbackDesc: prometheus.NewDesc("tidings_replica_fallbacks_total",
			"Reads (audience streams, reports) that failed on the read replica and ran again on the primary.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *ReplicaMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.up
	ch <- m.lag
	ch <- m.behind
	ch <- m.fallbackDesc
}

// Collect implements prometheus.Collector. A replica that does not answer
// within 5 s is down for this scrape, and its lag is left out.
func (m *ReplicaMetrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(m.fallbackDesc, prometheus.CounterValue, float64(m.st.ReplicaFallbacks()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rs, err := m.st.ReplicaStatus(ctx)
	up := 0.0
	if err == nil && rs.Standby {
		up = 1
		ch <- prometheus.MustNewConstMetric(m.lag, prometheus.GaugeValue, rs.Lag.Seconds())
		ch <- prometheus.MustNewConstMetric(m.behind, prometheus.GaugeValue, float64(rs.Behind))
	}
	ch <- prometheus.MustNewConstMetric(m.up, prometheus.GaugeValue, up)
}
