package worker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// promoSMSYAML is a promotional SMS campaign.
const promoSMSYAML = `id: offers
name: SMS offers
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: sms_consent
channels: [sms]
frequency: {class: promotional}
messages:
  sms: {text: "Today's offer, {{ .external_id }}. Reply STOP to opt out"}
`

// fire runs a campaign's occurrence key at now, waits until nothing of it is
// due at now, and returns its ledger rows by customer.
func (b *bundle) fire(t testing.TB, e *worker.Engine, campaign, key string, now time.Time) map[string]store.Delivery {
	t.Helper()
	if err := e.Enqueue(context.Background(), campaign, key, now); err != nil {
		t.Fatal(err)
	}
	b.waitSettled(t, campaign, key, now, 30*time.Second)
	return b.deliveries(t, campaign, key)
}

// TestFloridaPolicy runs a promotional SMS campaign under
// examples/policy-us.yaml, loaded by the engine as TIDINGS_POLICY is. A run
// at 20:30 in New York defers the Florida number (quiet from 20:00 there)
// and the customer whose zone is unknown (the strictest window, Florida's
// evening in the default zone) to 08:00, and texts the New York number at
// once. The next morning the deferred texts go out, and three more runs
// follow: the Florida number's fourth text within 24 hours is capped (3
// per 24 h), while the others, under the shop's 6 per 7 days, get all four.
// Both databases, real Redis and SMS server, a stepped clock.
func TestFloridaPolicy(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			testFloridaPolicy(t, dialect)
		})
	}
}

func testFloridaPolicy(t *testing.T, dialect store.Dialect) {
	b := setup(t, dialect)
	provider := startSMS(t, b)
	ny := mustZone(t, "America/New_York")
	// c1 Miami, c2 New York, c3 a toll-free number: no zone from it, none
	// stated, so the default zone (New York here) applies, as unknown.
	people := []smsPerson{{"America/New_York", "+13055550101"}, {"America/New_York", "+12125550102"}, {"", "+18005550103"}}
	b.addSMSCustomers(t, people)
	evening := time.Date(2026, 6, 10, 20, 30, 0, 0, ny)
	morning := time.Date(2026, 6, 11, 8, 0, 0, 0, ny)
	clock := &fakeClock{t: evening}
	e := b.engineWith(t, worker.Options{Now: clock.Now, DefaultLoc: ny}, b.campaign(t, promoSMSYAML))
	if problems := e.LoadPolicy("../examples/policy-us.yaml"); len(problems) > 0 {
		t.Fatal(problems)
	}
	b.acceptWorker(t, e, workerConfig{})
	ctx := context.Background()
	run := func(key string, at time.Time) map[string]store.Delivery {
		t.Helper()
		clock.Set(at)
		return b.fire(t, e, "offers", key, at)
	}

	rows := run("k1", evening)
	for _, ext := range []string{"c1", "c3"} {
		if d := rows[ext]; d.Status != store.StatusDeferred || d.NotBefore == nil || !d.NotBefore.Equal(morning) ||
			d.Error != store.ReasonQuietHours {
			t.Errorf("%s at 20:30: %s until %v (%q); want deferred to 08:00 for quiet hours", ext, d.Status, d.NotBefore, d.Error)
		}
	}
	if d := rows["c2"]; d.Status != store.StatusSent {
		t.Errorf("New York at 20:30: %s (%q), want sent", d.Status, d.Error)
	}
	clock.Set(morning)
	if _, err := e.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	b.waitSettled(t, "offers", "k1", morning, 30*time.Second)
	for i, key := range []string{"k2", "k3", "k4"} {
		rows = run(key, morning.Add(time.Duration(i+1)*time.Hour))
	}
	if d := rows["c1"]; d.Status != store.StatusCapped || !strings.Contains(string(d.Error), "frequency cap: 3 sms promotional per 1d") ||
		!strings.Contains(string(d.Error), "US-FL") {
		t.Errorf("Florida's fourth text within 24 h: %s (%q), want capped by the US-FL rule", d.Status, d.Error)
	}
	b.waitIdle(t)
	got := map[string]int{}
	for _, m := range provider.Messages() {
		got[m.To]++
	}
	if want := map[string]int{people[0].phone: 3, people[1].phone: 4, people[2].phone: 4}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("texts received %v, want %v", got, want)
	}
}

// TestTransactionalFloodHitsItsOwnLimit fires a transactional email 22
// times for one customer within minutes, under the default policy: 20 go
// out, the rest are capped with the transactional limit (once, a
// transactional message was never capped), and a promotional email after
// the flood still goes out: each class has its own limits. Both databases.
func TestTransactionalFloodHitsItsOwnLimit(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.addCustomers(t, 1, nil)
			e := b.engineWith(t, worker.Options{}, b.campaign(t, newsletterYAML), b.campaign(t, promoYAML("promo", 1)))
			b.acceptWorker(t, e, workerConfig{})
			statuses := map[store.Status]int{}
			for i := 1; i <= 22; i++ {
				d := b.fire(t, e, "news", fmt.Sprintf("k%d", i), time.Now())["c1"]
				statuses[d.Status]++
				if i > 20 && !strings.Contains(string(d.Error), "frequency cap: 20 email transactional per 1d") {
					t.Errorf("message %d: %s (%q), want capped by the transactional limit", i, d.Status, d.Error)
				}
			}
			if statuses[store.StatusSent] != 20 || statuses[store.StatusCapped] != 2 {
				t.Errorf("flood: %v, want 20 sent and 2 capped", statuses)
			}
			if d := b.fire(t, e, "promo", "p1", time.Now())["c1"]; d.Status != store.StatusSent {
				t.Errorf("promotional email after the flood: %s (%q), want sent", d.Status, d.Error)
			}
			b.smtp.WaitMessages(t, 21, 10*time.Second)
			b.waitIdle(t)
			if n := len(b.smtp.Messages()); n != 21 {
				t.Errorf("SMTP server received %d messages, want 21", n)
			}
		})
	}
}

// TestBrokenPolicyEditKeepsThePolicyInForce loads a policy capping
// promotional email at 1 per 7 days, then a broken edit of the file: the
// errors come with file:line:col, the broken file is reported, and the
// next run is still capped by the policy in force (the default would allow
// 3). The watcher then picks up a fixed edit (2 per 7 days) and the next
// run goes out. Both databases.
func TestBrokenPolicyEditKeepsThePolicyInForce(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.addCustomers(t, 1, nil)
			e := b.engineWith(t, worker.Options{}, b.campaign(t, promoYAML("promo", 1)))
			b.acceptWorker(t, e, workerConfig{})
			ctx := context.Background()
			file := filepath.Join(t.TempDir(), "policy.yaml")
			write := func(yaml string) {
				t.Helper()
				if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			fire := func(key string) store.Delivery {
				t.Helper()
				return b.fire(t, e, "promo", key, time.Now())["c1"]
			}

			write("caps:\n  email:\n    promotional: 1 per 7d\n")
			if problems := e.LoadPolicy(file); len(problems) > 0 || e.BrokenPolicy() != nil {
				t.Fatalf("valid policy: %v, broken %v", problems, e.BrokenPolicy())
			}
			if d := fire("k1"); d.Status != store.StatusSent {
				t.Fatalf("first promotion: %s (%q)", d.Status, d.Error)
			}
			write("caps:\n  email:\n    promotional: 1 per 7d\n    transactionnal: 5 per 1d\n")
			problems := e.LoadPolicy(file)
			want := file + `:4:5: unknown key "transactionnal" in caps.email; did you mean "transactional"?`
			if len(problems) != 1 || !strings.HasPrefix(problems[0].String(), want) {
				t.Fatalf("broken edit: %v, want %s", problems, want)
			}
			if br := e.BrokenPolicy(); br == nil || br.File != file || len(br.Problems) != 1 {
				t.Fatalf("BrokenPolicy = %+v", br)
			}
			if d := fire("k2"); d.Status != store.StatusCapped || !strings.Contains(string(d.Error), "1 email promotional per 7d") {
				t.Fatalf("after the broken edit: %s (%q), want capped by the policy still in force", d.Status, d.Error)
			}

			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go e.WatchPolicy(wctx, file, 10*time.Millisecond)
			write("caps:\n  email:\n    promotional: 2 per 7d # fixed\n")
			waitUntil(t, 10*time.Second, "the watcher to load the fixed policy", func() bool {
				return e.BrokenPolicy() == nil && len(e.Policy().Caps(campaigns.Email, campaigns.ClassPromotional, campaigns.Place{})) == 1 &&
					e.Policy().Caps(campaigns.Email, campaigns.ClassPromotional, campaigns.Place{})[0].Max == 2
			})
			if d := fire("k3"); d.Status != store.StatusSent {
				t.Fatalf("after the fix: %s (%q), want sent", d.Status, d.Error)
			}
		})
	}
}
