package worker_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/triggers"
)

// evPostAny posts an event of any type to /v1/events under webhook-id id
// and waits until its reaction ran.
func evPostAny(t *testing.T, b *bundle, srv *httptest.Server, id, typ, customer, props string, at time.Time) {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"type": %q, "customer": %q, "time": %q, "properties": %s}`,
		typ, customer, at.Format(time.RFC3339), props))
	evSend(t, b, srv, triggers.PathEvents, id, body)
}

// TestJourneyWaitsForAnyEventType: a journey waiting for a cart over 50
// (wait_for of a type the events API brings, with a filter on its
// properties) takes the event branch for the customer whose cart passes
// the filter, and the timeout for the one whose cart does not, on both
// databases: the events API's reaction wakes the journey.
func TestJourneyWaitsForAnyEventType(t *testing.T) {
	t.Parallel()
	yaml := strings.Replace(waitForYAML, `wait_for: {event: purchase, where: "event.amount >= 10"`,
		`wait_for: {event: cart_updated, where: "event.properties.total > 50"`, 1)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			w := newJourneyWorld(t, d, yaml, 2)
			hook := evHook(t, w.bundle)
			w.enter(t, "cart", "run-1")
			w.sweep(t)
			w.at(20 * time.Minute)
			evPostAny(t, w.bundle, hook, "cart-1", "cart_updated", "c1", `{"total": 84.5}`, w.clock.Now())
			evPostAny(t, w.bundle, hook, "cart-2", "cart_updated", "c2", `{"total": 12}`, w.clock.Now())
			w.sweep(t)
			w.at(time.Hour + time.Minute)
			w.sweep(t)
			checkSteps(t, w.steps(t, "cart"), map[string]string{"c1": "run-1/thanks#2:sent", "c2": "run-1/remind#2:sent"})
		})
	}
}
