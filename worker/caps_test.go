package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// promoYAML is a promotional email campaign with a priority.
func promoYAML(id string, priority int) string {
	return fmt.Sprintf(`id: %[1]s
name: Promo %[1]s
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: email_consent
channels: [email]
frequency: {class: promotional, priority: %[2]d}
messages:
  email:
    subject: "Offer from %[1]s"
    text: "Our offer. Unsubscribe: {{ .unsubscribe_url }}"
`, id, priority)
}

// policyOf parses a contact policy that must be valid.
func policyOf(t testing.TB, yaml string) *campaigns.Policy {
	t.Helper()
	p, problems := campaigns.ParsePolicy("policy.yaml", []byte(yaml))
	if len(problems) > 0 {
		t.Fatalf("policy: %v", problems)
	}
	return p
}

// TestFrequencyCapHigherPriorityWins caps promotional email at 1 per 7 days
// across two campaigns. Rows are planned while no worker sends: the
// low-priority campaign's waiting rows are displaced (capped) when the
// high-priority campaign is planned; a later low-priority run is capped
// because the slot is taken by a higher priority; once the high-priority
// messages are sent, even a high-priority run is capped. The SMTP server
// receives exactly one message per customer, the high-priority one.
func TestFrequencyCapHigherPriorityWins(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			testFrequencyCap(t, dialect)
		})
	}
}

func testFrequencyCap(t *testing.T, dialect store.Dialect) {
	b := setup(t, dialect)
	const n = 4
	b.addCustomers(t, n, nil)
	low, high := b.campaign(t, promoYAML("promo-low", 1)), b.campaign(t, promoYAML("promo-high", 5))
	e := b.engineWith(t, worker.Options{Policy: policyOf(t, "caps: {email: {promotional: 1 per 7d}}")}, low, high)
	b.acceptWorker(t, e, planOnly)
	ctx := context.Background()
	fire := func(campaign, key string) map[string]store.Delivery {
		t.Helper()
		if err := e.Enqueue(ctx, campaign, key, time.Now()); err != nil {
			t.Fatal(err)
		}
		b.waitPlanned(t, campaign, key)
		return b.deliveries(t, campaign, key)
	}
	expect := func(what string, rows map[string]store.Delivery, status store.Status, reason string) {
		t.Helper()
		for i := 1; i <= n; i++ {
			d := rows[fmt.Sprintf("c%d", i)]
			if d.Status != status || !strings.Contains(string(d.Error), reason) {
				t.Errorf("%s, c%d: %s (%q); want %s (%q)", what, i, d.Status, d.Error, status, reason)
			}
		}
	}

	expect("low priority planned first", fire("promo-low", "k1"), store.StatusPending, "")
	expect("high priority planned next", fire("promo-high", "k1"), store.StatusPending, "")
	expect("low priority displaced", b.deliveries(t, "promo-low", "k1"), store.StatusCapped,
		"displaced by higher-priority campaign promo-high")
	expect("low priority again", fire("promo-low", "k2"), store.StatusCapped, "frequency cap")

	b.acceptWorker(t, e, sendOnly)
	b.waitSettled(t, "promo-high", "k1", time.Now(), 30*time.Second)
	expect("high priority after the sends", b.deliveries(t, "promo-high", "k1"), store.StatusSent, "")
	// A sent message holds its slot, whatever the priority.
	b.smtp.WaitMessages(t, n, 10*time.Second)
	expect("high priority again", fire("promo-high", "k2"), store.StatusCapped, "frequency cap")
	b.waitIdle(t) // the capped run's tasks have run and sent nothing

	msgs := b.smtp.Messages()
	if len(msgs) != n {
		t.Fatalf("SMTP server received %d messages, want %d", len(msgs), n)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		h, err := m.Header()
		if err != nil {
			t.Fatal(err)
		}
		to := strings.Join(m.To, ",")
		if seen[to] || h.Get("Subject") != "Offer from promo-high" {
			t.Errorf("%s: subject %q (seen before: %v)", to, h.Get("Subject"), seen[to])
		}
		seen[to] = true
	}
}
