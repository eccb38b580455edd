package worker

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings-crm/tidings/store"
)

// ConsentChanges exports the consent history as the counter
// tidings_consent_changes_total{source,channel,granted}, read from the
// database on each scrape: the history only grows, and it counts the changes
// every process made (a CSV import run from a shell is never scraped).
type ConsentChanges struct {
	st   *store.Store
	desc *prometheus.Desc
}

// NewConsentChanges returns the collector over st; register it.
func NewConsentChanges(st *store.Store) *ConsentChanges {
	return &ConsentChanges{st: st, desc: prometheus.NewDesc("tidings_consent_changes_total",
		"Consent changes recorded, by source (import, webhook, unsubscribe, sms_stop, sms_start, admin, erasure), "+
			"channel and new value.", []string{"source", "channel", "granted"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *ConsentChanges) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. A database that does not answer
// within 5 s leaves the series out of this scrape.
func (c *ConsentChanges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.st.ConsentCounts(ctx)
	if err != nil {
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n.N),
			n.Source, string(n.Channel), strconv.FormatBool(n.Granted))
	}
}
