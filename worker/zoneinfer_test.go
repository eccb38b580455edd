package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

const dawnSMSYAML = `id: dawn
name: SMS fired at 07:00 UTC
trigger: {schedule: {cron: "0 7 * * *", time_zone: UTC}}
audience: sms_consent
channels: [sms]
frequency: {class: transactional}
messages:
  sms: {text: "Good morning {{ .external_id }}. Reply STOP to opt out"}
`

// TestCustomerWithoutZoneGetsSMSInTheirPhonesZone plans an SMS run at 07:00
// UTC on a summer day with the default zone UTC: a New York number without
// a zone is 03:00 local, so its SMS is deferred to 08:00 America/New_York
// (12:00 UTC) and sent then, not at 03:00; a French number without a zone
// is at 09:00 Paris and is texted at once; a customer who states UTC is at
// 07:00 in quiet hours until 08:00 UTC. The deliveries listing shows the
// planned time in the inferred zone. Both databases, real Redis and SMS
// server.
func TestCustomerWithoutZoneGetsSMSInTheirPhonesZone(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			testZoneInference(t, dialect)
		})
	}
}

func testZoneInference(t *testing.T, dialect store.Dialect) {
	b := setup(t, dialect)
	provider := startSMS(t, b)
	people := []smsPerson{{"", "+12125550101"}, {"", "+33612345678"}, {"UTC", "+447700900123"}}
	b.addSMSCustomers(t, people)
	start := time.Date(2025, 6, 10, 7, 0, 0, 0, time.UTC)
	ny := mustZone(t, "America/New_York")
	eightNY := time.Date(2025, 6, 10, 8, 0, 0, 0, ny).UTC()
	clock := &fakeClock{t: start}
	c := b.campaign(t, dawnSMSYAML)
	e := b.engineWith(t, worker.Options{Now: clock.Now, DefaultLoc: time.UTC}, c)
	b.acceptWorker(t, e, workerConfig{})
	ctx := context.Background()
	if err := e.Enqueue(ctx, "dawn", "k1", start); err != nil {
		t.Fatal(err)
	}
	b.waitSettled(t, "dawn", "k1", start, 30*time.Second)
	rows := b.deliveries(t, "dawn")
	if d := rows["c1"]; d.Status != store.StatusDeferred || d.NotBefore == nil || !d.NotBefore.Equal(eightNY) {
		t.Fatalf("New York number at 03:00 local: %s not before %v; want deferred to %s (08:00 New York)", d.Status, d.NotBefore, eightNY)
	}
	if d := rows["c2"]; d.Status != store.StatusSent || d.SentAt == nil || !d.SentAt.Equal(start) {
		t.Fatalf("French number at 09:00 Paris: %s at %v; want sent at once", d.Status, d.SentAt)
	}
	eightUTC := time.Date(2025, 6, 10, 8, 0, 0, 0, time.UTC)
	if d := rows["c3"]; d.Status != store.StatusDeferred || d.NotBefore == nil || !d.NotBefore.Equal(eightUTC) {
		t.Fatalf("stated UTC at 07:00: %s not before %v; want deferred to 08:00 UTC", d.Status, d.NotBefore)
	}

	page, err := e.Deliveries(ctx, "dawn", store.LedgerQuery{})
	if err != nil || len(page.Deliveries) != 3 {
		t.Fatalf("deliveries listing: %+v, %v", page, err)
	}
	if d := page.Deliveries[0]; d.TimeZone != "America/New_York" || !d.ZoneInferred || d.ZoneDefault ||
		d.PlannedLocal != "2025-06-10T08:00:00-04:00" {
		t.Errorf("listing of the New York number: %+v; want planned 08:00 in its inferred zone", d)
	}
	if d := page.Deliveries[2]; d.TimeZone != "UTC" || d.ZoneInferred || d.ZoneDefault {
		t.Errorf("listing of the customer who states UTC: %+v", d)
	}

	clock.Set(eightNY)
	if _, err := e.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	b.waitSettled(t, "dawn", "k1", eightNY, 30*time.Second)
	rows = b.deliveries(t, "dawn")
	if d := rows["c1"]; d.Status != store.StatusSent || d.SentAt == nil || !d.SentAt.Equal(eightNY) {
		t.Fatalf("New York number: %s at %v; want sent at %s", d.Status, d.SentAt, eightNY)
	}
	byPhone := map[string]int{}
	for _, m := range provider.Messages() {
		byPhone[m.To]++
	}
	if byPhone[people[0].phone] != 1 || byPhone[people[1].phone] != 1 || byPhone[people[2].phone] != 1 || len(byPhone) != 3 {
		t.Fatalf("provider received %v; want one message per customer", byPhone)
	}
}

// smsPerson is a customer c1, c2... with SMS consent: a zone ("" for none)
// and a phone number.
type smsPerson struct{ zone, phone string }

// addSMSCustomers creates one customer per person, in order.
func (b *bundle) addSMSCustomers(t testing.TB, people []smsPerson) {
	t.Helper()
	b.addCustomers(t, len(people), func(i int, c *store.CustomerInput) {
		p, yes := people[i-1], true
		c.Phone, c.SMSConsent = &p.phone, &yes
		if p.zone != "" {
			c.TimeZone = &p.zone
		}
	})
}
