package triggers_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
)

// TestWebhookEventsCounter: tidings_webhook_events_total moves by result for
// an accepted event, its duplicate, a batch, a bad signature and a bad body.
func TestWebhookEventsCounter(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := triggers.NewWebhookMetrics(reg)
	b := setupHook(t, store.SQLite, triggers.WebhookOptions{Metrics: m})
	at := time.Now().Add(-time.Hour)
	if code, body := b.post(t, http.DefaultClient, triggers.PathPurchase, "ev1", purchaseJSON("ev1", "c1", "o1", 1000, at)); code != http.StatusAccepted {
		t.Fatalf("first post: %d %s", code, body)
	}
	if code, _ := b.post(t, http.DefaultClient, triggers.PathPurchase, "ev1", purchaseJSON("ev1", "c1", "o1", 1000, at)); code != http.StatusOK {
		t.Fatalf("duplicate: %d", code)
	}
	batch := []byte(`{"events": [` + string(purchaseJSON("ev2", "c2", "o2", 500, at)) + `,` +
		string(purchaseJSON("ev3", "c3", "o3", 700, at)) + `]}`)
	if code, body := b.post(t, http.DefaultClient, triggers.PathPurchaseBatch, "batch1", batch); code != http.StatusAccepted {
		t.Fatalf("batch: %d %s", code, body)
	}
	h, _ := triggers.SignHeaders("whsec_"+"c2VjcmV0LW5vdC10aGUtb25lLXdlLXVzZQ==", "ev4", time.Now(), []byte(`{}`))
	if code, _ := b.do(t, http.DefaultClient, triggers.PathPurchase, h, []byte(`{}`)); code != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", code)
	}
	if code, _ := b.post(t, http.DefaultClient, triggers.PathPurchase, "ev5", []byte(`{"event_id": "ev5"}`)); code != http.StatusBadRequest {
		t.Fatalf("invalid body: %d", code)
	}
	for result, want := range map[string]float64{"accepted": 3, "duplicate": 1, "rejected": 2, "failed": 0} {
		if got := testutil.ToFloat64(m.Events.WithLabelValues(result)); got != want {
			t.Errorf("tidings_webhook_events_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}
