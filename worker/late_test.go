package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tidings-crm/tidings/channels/smstest"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// lateCase is one message that may or may not go out in its window: its
// campaign, when the run plans it, when the sending worker reaches it
// (zero: the same worker plans and sends at once), and what must become of
// it. Times are in New York, where the customer lives.
type lateCase struct {
	name     string
	yaml     string
	sms      bool
	plan     time.Time
	reach    time.Time
	status   store.Status
	sent     int
	deadline time.Time // the row's expires_at
}

// birthdayAt is a birthday campaign named late on one channel at a local time.
func birthdayAt(channel, at string) string {
	subject := ""
	if channel == "email" {
		subject = `subject: "Happy birthday", `
	}
	return fmt.Sprintf(`id: late
name: Birthday %[1]s
trigger: {birthday: {at: %[2]q}}
audience: %[1]s_consent
channels: [%[1]s]
messages:
  %[1]s: {%[3]stext: "Happy birthday {{ .external_id }}! Reply STOP to opt out"}
`, channel, at, subject)
}

const newsWithDeadline = `id: late
name: News that may be 2h late
trigger: {schedule: {cron: "0 10 * * TUE", time_zone: America/New_York}}
audience: email_consent
channels: [email]
late: {policy: send, deadline: 2h}
messages:
  email: {subject: "News", text: "News for {{ .external_id }}"}
`

// TestLateMessagesFollowTheCampaignsLatePolicy drives the late policy end
// to end, on both databases, through real Redis, asynq and the SMTP or SMS
// server: a birthday greeting (default: expire at the end of the customer's
// day) that quiet hours or an outage would deliver after local midnight is
// settled as expired with its reason and never reaches the provider, one
// reached before midnight is sent; the report counts expired messages in
// their own column; a newsletter allowed 2 hours late is
// expired when the worker reaches it 3 hours late and sent 1 hour late.
func TestLateMessagesFollowTheCampaignsLatePolicy(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	at := func(d, h, m int) time.Time { return time.Date(2025, 6, d, h, m, 0, 0, ny) }
	midnight := at(11, 0, 0)
	cases := []lateCase{
		{name: "birthday SMS at 22:30: quiet hours push it past midnight, expired at planning",
			yaml: birthdayAt("sms", "22:30"), sms: true, plan: at(10, 22, 30),
			status: store.StatusExpired, deadline: midnight},
		{name: "birthday SMS planned at 20:50, reached at 21:05: quiet hours until past midnight",
			yaml: birthdayAt("sms", "20:50"), sms: true, plan: at(10, 20, 50), reach: at(10, 21, 5),
			status: store.StatusExpired, deadline: midnight},
		{name: "birthday email deferred to 20:00, worker back at 00:30",
			yaml: birthdayAt("email", "20:00"), plan: at(10, 8, 0), reach: at(11, 0, 30),
			status: store.StatusExpired, deadline: midnight},
		{name: "birthday email deferred to 20:00, worker back at 23:30",
			yaml: birthdayAt("email", "20:00"), plan: at(10, 8, 0), reach: at(10, 23, 30),
			status: store.StatusSent, sent: 1, deadline: midnight},
		{name: "newsletter allowed 2h late, reached 3h late", yaml: newsWithDeadline, plan: at(10, 10, 0), reach: at(10, 13, 0),
			status: store.StatusExpired, deadline: at(10, 12, 0)},
		{name: "newsletter allowed 2h late, reached 1h late", yaml: newsWithDeadline, plan: at(10, 10, 0), reach: at(10, 11, 0),
			status: store.StatusSent, sent: 1, deadline: at(10, 12, 0)},
	}
	for _, dialect := range storetest.Dialects() {
		for _, tc := range cases {
			t.Run(string(dialect)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				testLate(t, dialect, tc)
			})
		}
	}
}

func testLate(t *testing.T, dialect store.Dialect, tc lateCase) {
	b := setup(t, dialect)
	provider := startSMS(t, b)
	b.addCustomers(t, 1, func(_ int, c *store.CustomerInput) {
		zone, phone, bday, yes := "America/New_York", "+12125550101", day(1990, 6, 10), true
		c.TimeZone, c.Phone, c.Birthday, c.SMSConsent = &zone, &phone, &bday, &yes
	})
	clock := &fakeClock{t: tc.plan.UTC()}
	c := b.campaign(t, tc.yaml)
	m := worker.NewMetrics(prometheus.NewRegistry())
	e := b.engineWith(t, worker.Options{Now: clock.Now, Metrics: m}, c)
	ctx := context.Background()
	if tc.reach.IsZero() {
		b.acceptWorker(t, e, workerConfig{})
	} else {
		b.acceptWorker(t, e, planOnly)
	}
	if err := e.Enqueue(ctx, "late", "k1", tc.plan); err != nil {
		t.Fatal(err)
	}
	b.waitPlanned(t, "late", "k1")
	now := tc.plan.UTC()
	if !tc.reach.IsZero() {
		now = tc.reach.UTC()
		clock.Set(now)
		b.acceptWorker(t, e, sendOnly)
		if _, err := e.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
	}
	b.waitSettled(t, "late", "k1", now, 30*time.Second)
	row := b.deliveries(t, "late")["c1"]
	d, err := b.st.Delivery(ctx, row.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != tc.status || d.ExpiresAt == nil || !d.ExpiresAt.Equal(tc.deadline) {
		t.Fatalf("row: %s (%q) expiring %v; want %s expiring %s", d.Status, d.Error, d.ExpiresAt, tc.status, tc.deadline.UTC())
	}
	if tc.status == store.StatusExpired && (!strings.HasPrefix(string(d.Error), string(store.ReasonLatePrefix)) || d.Attempts != 0) {
		t.Errorf("expired row: reason %q, %d attempts; want a late: reason and no attempt", d.Error, d.Attempts)
	}
	if tc.reach.IsZero() && tc.status == store.StatusExpired {
		if got := testutil.ToFloat64(m.Planned.WithLabelValues("late", string(store.StatusExpired))); got != 1 {
			t.Errorf("tidings_deliveries_planned_total{late,expired} = %v, want 1", got)
		}
	}
	rep, err := e.Report(ctx, "late")
	if err != nil {
		t.Fatal(err)
	}
	if wantExpired := int64(1 - tc.sent); rep.Treated.Expired != wantExpired || rep.Treated.Sent != int64(tc.sent) {
		t.Errorf("report: %d sent, %d expired; want %d, %d", rep.Treated.Sent, rep.Treated.Expired, tc.sent, wantExpired)
	}
	got := len(b.smtp.Messages())
	if tc.sms {
		got = len(provider.Messages())
	}
	if got != tc.sent {
		t.Errorf("the provider received %d messages, want %d", got, tc.sent)
	}
}

const teamNightAlertYAML = `id: alert
name: Big spender alert
trigger: {schedule: {cron: "0 7 * * *", time_zone: UTC}}
audience: "true"
channels: [sms]
recipient: {team: {sms: "+15550002222"}}
frequency: {class: alert}
messages:
  sms: {text: "Customer {{ .external_id }} needs a call"}
`

// TestTeamSMSAlertIsNotHeldByTheCustomersQuietHours fires an SMS alert to
// the team at 03:00 in the customer's New York night: quiet hours protect
// customers, so the alert is sent at once (planning and sending agree), on
// both databases.
func TestTeamSMSAlertIsNotHeldByTheCustomersQuietHours(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			provider := startSMS(t, b)
			b.addCustomers(t, 1, func(_ int, c *store.CustomerInput) {
				zone := "America/New_York"
				c.TimeZone = &zone
			})
			start := time.Date(2025, 6, 10, 7, 0, 0, 0, time.UTC) // 03:00 in New York
			clock := &fakeClock{t: start}
			e := b.engineWith(t, worker.Options{Now: clock.Now}, b.campaign(t, teamNightAlertYAML))
			b.acceptWorker(t, e, workerConfig{})
			if err := e.Enqueue(context.Background(), "alert", "k1", start); err != nil {
				t.Fatal(err)
			}
			b.waitSettled(t, "alert", "k1", start, 30*time.Second)
			if d := b.deliveries(t, "alert")["c1"]; d.Status != store.StatusSent || d.SentAt == nil || !d.SentAt.Equal(start) {
				t.Fatalf("team alert: %s (%q) at %v, want sent at once", d.Status, d.Error, d.SentAt)
			}
			if msgs := provider.Messages(); len(msgs) != 1 || msgs[0].To != "+15550002222" {
				t.Fatalf("provider received %v, want one message to the team", msgs)
			}
		})
	}
}

const smsNewsWithDeadline = `id: late
name: SMS news that may be 2h late
trigger: {schedule: {cron: "0 10 * * TUE", time_zone: America/New_York}}
audience: sms_consent
channels: [sms]
late: {policy: send, deadline: 2h}
messages:
  sms: {text: "News for {{ .external_id }}. Reply STOP to opt out"}
`

// TestRetryPastTheDeadlineExpires has the SMS provider answer 429 with
// Retry-After: 600 to a newsletter reached 1h55m late, with 2 hours
// allowed: the retry would fall past the deadline, so the row ends expired
// after its one attempt instead of waiting to be sent late, on both
// databases.
func TestRetryPastTheDeadlineExpires(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			provider := startSMS(t, b)
			b.addSMSCustomers(t, []smsPerson{{"America/New_York", "+12125550101"}})
			ny := mustZone(t, "America/New_York")
			plan, reach := time.Date(2025, 6, 10, 10, 0, 0, 0, ny).UTC(), time.Date(2025, 6, 10, 11, 55, 0, 0, ny).UTC()
			clock := &fakeClock{t: plan}
			e := b.engineWith(t, worker.Options{Now: clock.Now}, b.campaign(t, smsNewsWithDeadline))
			b.acceptWorker(t, e, planOnly)
			ctx := context.Background()
			if err := e.Enqueue(ctx, "late", "k1", plan); err != nil {
				t.Fatal(err)
			}
			b.waitPlanned(t, "late", "k1")
			provider.FailNext(smstest.TooManyRequests("600"), 1)
			clock.Set(reach)
			b.acceptWorker(t, e, workerConfig{concurrency: 2, queues: map[string]int{worker.QueueDeliver: 1}, retryDelay: worker.RetryDelay})
			b.waitSettled(t, "late", "k1", reach, 30*time.Second)
			d := b.deliveries(t, "late")["c1"]
			if d.Status != store.StatusExpired || d.Attempts != 1 || !strings.Contains(string(d.Error), "past its deadline") {
				t.Fatalf("row: %s (%q), %d attempts; want expired after 1 attempt", d.Status, d.Error, d.Attempts)
			}
			if reqs, msgs := len(provider.Requests()), len(provider.Messages()); reqs != 1 || msgs != 0 {
				t.Fatalf("provider saw %d requests and accepted %d messages; want 1 refused", reqs, msgs)
			}
		})
	}
}
