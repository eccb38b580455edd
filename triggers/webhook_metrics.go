package triggers

import "github.com/prometheus/client_golang/prometheus"

// WebhookMetrics counts purchase events by result, for /metrics:
// tidings_webhook_events_total{result="accepted|duplicate|rejected|failed"}.
// accepted and duplicate count events (a batch counts each of its events);
// rejected counts requests refused with a 4xx (bad signature, too large,
// invalid body); failed counts events that could not be stored (503). A nil
// *WebhookMetrics records nothing.
type WebhookMetrics struct {
	Events *prometheus.CounterVec
}

// NewWebhookMetrics creates the series and registers them on reg.
func NewWebhookMetrics(reg prometheus.Registerer) *WebhookMetrics {
	m := &WebhookMetrics{Events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tidings",
		Name: "webhook_events_total", Help: "Purchase webhook events by result (accepted, duplicate, rejected, failed)."},
		[]string{"result"})}
	for _, r := range []string{"accepted", "duplicate", "rejected", "failed"} {
		m.Events.WithLabelValues(r) // present at 0 from the start, so rates work
	}
	reg.MustRegister(m.Events)
	return m
}

func (m *WebhookMetrics) observe(result string, n int) {
	if m != nil && n > 0 {
		m.Events.WithLabelValues(result).Add(float64(n))
	}
}
