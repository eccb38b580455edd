package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// TestTemplateOverBudgetFailsOnlyThatCustomer runs a newsletter whose text
// loops over a custom attribute: one customer's list is 50,000 items long,
// past the template budget. That delivery fails with the reason, the worker
// keeps going and the other customers get their message.
func TestTemplateOverBudgetFailsOnlyThatCustomer(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			huge := make([]any, 50_000)
			for i := range huge {
				huge[i] = "xxxxxxxxxx"
			}
			b.addCustomers(t, 3, func(i int, c *store.CustomerInput) {
				if i == 2 {
					c.Attributes = map[string]any{"items": huge}
				}
			})
			yaml := strings.Replace(newsletterYAML, `text: "Hello {{ .external_id }}"`,
				`text: "Hello {{ .external_id }}{{ range .attributes.items }}{{ . }}{{ end }}"`, 1)
			c := b.campaign(t, yaml)
			e := b.engineWith(t, worker.Options{}, c)
			b.acceptWorker(t, e, workerConfig{})
			if err := e.Enqueue(context.Background(), "news", "w1", time.Now()); err != nil {
				t.Fatal(err)
			}
			b.waitPlanned(t, "news", "w1")
			var rows map[string]store.Delivery
			waitUntil(t, 30*time.Second, "the run to settle", func() bool {
				rows = b.deliveries(t, "news", "w1")
				for _, d := range rows {
					if d.Status != store.StatusSent && d.Status != store.StatusFailed {
						return false
					}
				}
				return len(rows) == 3
			})
			for ext, d := range rows {
				wantFailed := ext == "c2"
				if (d.Status == store.StatusFailed) != wantFailed ||
					wantFailed && !strings.Contains(string(d.Error), "template budget exceeded: its loops ran more than 10,000 times") {
					t.Errorf("%s: status %s, error %q", ext, d.Status, d.Error)
				}
			}
			if got := b.receivedBy(); got["customer1@example.com"] != 1 || got["customer3@example.com"] != 1 || got["customer2@example.com"] != 0 {
				t.Errorf("messages received = %v, want one each for customers 1 and 3", got)
			}
		})
	}
}
