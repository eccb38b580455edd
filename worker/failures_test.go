package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels/sms"
	"github.com/tidings-crm/tidings/channels/smstest"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// TestSMTPTransientIsRetriedHardBounceSuppresses runs a newsletter where one
// recipient gets a 451 and another a 452 at RCPT TO once, and a third gets
// 550 5.1.1 every time. The 4xx rows are retried and delivered (one message
// each, two attempts, nobody suppressed); the 550 row fails after a single
// attempt and its address goes on the suppression list as a hard bounce, so
// the next run of the campaign skips that customer as suppressed.
func TestSMTPTransientIsRetriedHardBounceSuppresses(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			testSMTPFailures(t, dialect)
		})
	}
}

func testSMTPFailures(t *testing.T, dialect store.Dialect) {
	b := setup(t, dialect)
	const n = 5
	b.addCustomers(t, n, nil)
	b.smtp.FailRecipient("customer2@example.com", 451, "", 1)
	b.smtp.FailRecipient("customer3@example.com", 452, "4.2.2", 1)
	b.smtp.FailRecipient("customer4@example.com", 550, "5.1.1", -1)
	c := b.campaign(t, newsletterYAML)
	e := b.engineWith(t, worker.Options{}, c)
	b.acceptWorker(t, e, workerConfig{})
	ctx := context.Background()

	fire := func(key string) map[string]store.Delivery {
		t.Helper()
		if err := e.Enqueue(ctx, "news", key, time.Now()); err != nil {
			t.Fatal(err)
		}
		b.waitPlanned(t, "news", key)
		// Retries wait in the ledger (deferred to their retry time): wait
		// for every row of the run to be settled.
		var rows map[string]store.Delivery
		waitUntil(t, 30*time.Second, "run "+key+" to settle", func() bool {
			rows = b.deliveries(t, "news", key)
			for _, d := range rows {
				switch d.Status {
				case store.StatusPending, store.StatusDeferred, store.StatusSending:
					return false
				}
			}
			return len(rows) == n
		})
		return rows
	}

	rows := fire("first")
	got := b.receivedBy()
	for i := 1; i <= n; i++ {
		ext, addr := fmt.Sprintf("c%d", i), fmt.Sprintf("customer%d@example.com", i)
		d := rows[ext]
		wantStatus, wantAttempts, wantMsgs := store.StatusSent, 1, 1
		switch i {
		case 2, 3:
			wantAttempts = 2
		case 4:
			wantStatus, wantMsgs = store.StatusFailed, 0
		}
		if d.Status != wantStatus || d.Attempts != wantAttempts || got[addr] != wantMsgs {
			t.Errorf("%s: status %s after %d attempts, %d messages (error %q); want %s after %d, %d messages",
				ext, d.Status, d.Attempts, got[addr], d.Error, wantStatus, wantAttempts, wantMsgs)
		}
		if i == 4 && !strings.Contains(string(d.Error), "550") {
			t.Errorf("%s: error %q does not name the 550", ext, d.Error)
		}
		sup, err := b.st.SuppressionFor(ctx, "email", addr)
		switch {
		case i == 4 && (err != nil || sup.Reason != store.SuppressHardBounce):
			t.Errorf("%s: suppression %+v (%v), want a hard bounce", ext, sup, err)
		case i != 4 && err == nil:
			t.Errorf("%s: suppressed (%+v) after a transient failure", ext, sup)
		}
	}

	// The next run skips the bounced address without trying it.
	rows = fire("second")
	if d := rows["c4"]; d.Status != store.StatusSuppressed || d.Attempts != 0 {
		t.Errorf("c4 on the next run: status %s, %d attempts (%q); want suppressed, 0", d.Status, d.Attempts, d.Error)
	}
	got = b.receivedBy()
	for i := 1; i <= n; i++ {
		want := 2
		if i == 4 {
			want = 0
		}
		if addr := fmt.Sprintf("customer%d@example.com", i); got[addr] != want {
			t.Errorf("%s received %d messages over two runs, want %d", addr, got[addr], want)
		}
	}
}

// startSMS adds a Twilio-compatible test provider as the bundle's "sms"
// channel.
func startSMS(t testing.TB, b *bundle) *smstest.Server {
	t.Helper()
	srv := smstest.Start(t)
	tw, err := sms.NewTwilio(sms.TwilioConfig{BaseURL: srv.URL, AccountSID: smstest.AccountSID,
		AuthToken: smstest.AuthToken, From: "+15550001111", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	b.chans["sms"] = tw
	return srv
}

const flashSMSYAML = `id: flash
name: Flash sale
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: sms_consent
channels: [sms]
frequency: {class: transactional}
messages:
  sms:
    text: "Flash sale today, {{ .external_id }}. Reply STOP to opt out."
`

// daytimeZone returns a zone where it is now between 09:00 and 20:00, so a
// test on the wall clock stays out of SMS quiet hours whenever it runs.
func daytimeZone(t testing.TB) string {
	t.Helper()
	for _, z := range []string{"UTC", "Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata", "America/New_York"} {
		if h := time.Now().In(mustZone(t, z)).Hour(); h >= 9 && h < 20 {
			return z
		}
	}
	t.Fatal("no daytime zone found")
	return ""
}

// TestSMS429IsRetriedAfterRetryAfter makes the SMS provider answer 429 with
// Retry-After: 3 to the first request. The worker uses worker.RetryDelay
// unmodified; the provider sees the second request no sooner than 3 s after
// the first (the default backoff would retry after 1-2 s), the message is
// delivered once, and the ledger shows two attempts.
func TestSMS429IsRetriedAfterRetryAfter(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			provider := startSMS(t, b)
			zone, phone, yes := daytimeZone(t), "+14155550101", true
			b.addCustomers(t, 1, func(_ int, c *store.CustomerInput) {
				c.Phone, c.SMSConsent, c.TimeZone = &phone, &yes, &zone
			})
			provider.FailNext(smstest.TooManyRequests("3"), 1)
			c := b.campaign(t, flashSMSYAML)
			e := b.engineWith(t, worker.Options{}, c)
			b.acceptWorker(t, e, workerConfig{retryDelay: worker.RetryDelay})
			if err := e.Enqueue(context.Background(), "flash", "k1", time.Now()); err != nil {
				t.Fatal(err)
			}
			msgs := provider.WaitMessages(t, 1, 20*time.Second)
			reqs := provider.Requests()
			if len(reqs) != 2 || len(msgs) != 1 || msgs[0].To != phone {
				t.Fatalf("provider saw %d requests and accepted %d messages; want 2 and 1 to the customer", len(reqs), len(msgs))
			}
			gap := reqs[1].Sub(reqs[0])
			if gap < 3*time.Second || gap > 5*time.Second {
				t.Errorf("second request %s after the first, want from 3 s (Retry-After) to 5 s", gap)
			}
			var d store.Delivery
			waitUntil(t, 10*time.Second, "the row to be recorded sent", func() bool {
				d = b.deliveries(t, "flash")["c1"]
				return d.Status == store.StatusSent
			})
			if d.Attempts != 2 || d.ProviderID != msgs[0].SID {
				t.Errorf("ledger: %d attempts, provider id %q; want 2 and %q", d.Attempts, d.ProviderID, msgs[0].SID)
			}
			t.Logf("retried %s after the 429", gap.Round(time.Millisecond))
		})
	}
}
