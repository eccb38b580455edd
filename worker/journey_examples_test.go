package worker_test

import (
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestWinBackSequenceExampleRuns runs the steps of the shipped
// examples/campaigns/win-back-sequence.yaml over eleven simulated days (its
// trigger, audience and holdout replaced, so three plain customers enter
// now): the email on day 0 to all, the SMS on day 3 to the one who takes
// SMS, the larger offer on day 10 (or the next 10:00 in their zone), and a
// purchase on day 1 ending the third customer's journey.
func TestWinBackSequenceExampleRuns(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../examples/campaigns/win-back-sequence.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yaml := regexp.MustCompile(`(?s)trigger:.*?\naudience: [^\n]*\n`).ReplaceAllString(string(raw),
		"trigger: {schedule: {cron: \"0 10 * * MON\", time_zone: UTC}}\naudience: email_consent\n")
	yaml = regexp.MustCompile(`\nholdout: [^\n]*`).ReplaceAllString(yaml, "")
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := setup(t, d)
			startSMS(t, b)
			t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
			b.clock = &fakeClock{t: t0}
			b.addCustomers(t, 3, func(i int, c *store.CustomerInput) {
				if i == 2 {
					phone, yes := "+33612345678", true // Europe/Paris, inferred from the number
					c.Phone, c.SMSConsent = &phone, &yes
				}
			})
			w := &journeyWorld{bundle: b, t0: t0, ctx: t.Context()}
			w.e = b.engine(t, b.campaign(t, yaml))
			b.startWorker(t, w.e, 4)
			hook := evHook(t, b)
			w.enter(t, "win-back-sequence", "run-1")
			w.sweep(t)
			w.at(24 * time.Hour)
			evPost(t, b, hook, "buy-3", "c3", "o-3", "40.00", w.clock.Now())
			w.sweep(t)
			w.at(3 * 24 * time.Hour)
			w.sweep(t)
			w.at(10 * 24 * time.Hour) // c1 (UTC) wakes at 10:00 UTC; c2 at 10:00 Paris, on day 11
			w.sweep(t)
			w.at(11 * 24 * time.Hour)
			w.sweep(t)
			checkSteps(t, w.steps(t, "win-back-sequence"), map[string]string{
				"c1": "run-1/first-email#1:sent run-1/last-chance#5:sent",
				"c2": "run-1/first-email#1:sent run-1/nudge#4:sent run-1/last-chance#6:sent",
				"c3": "run-1/first-email#1:sent",
			})
			for ext, reason := range map[string]string{"c1": "completed", "c2": "completed", "c3": "purchase"} {
				if s := w.state(t, "win-back-sequence", ext, "run-1"); s.Status != store.JourneyDone || s.ExitReason != reason {
					t.Errorf("%s: %+v, want done (%s)", ext, s, reason)
				}
			}
		})
	}
}

// TestWelcomeSeriesEntersOnAFirstPurchase: an event-triggered journey (the
// shipped welcome series, holdout removed) enters a customer from the
// purchase webhook's reaction, sends the thank-you at once, and a second
// purchase does not enter them again while they are inside.
func TestWelcomeSeriesEntersOnAFirstPurchase(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../examples/campaigns/welcome-series.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yaml := regexp.MustCompile(`\nholdout: [^\n]*`).ReplaceAllString(string(raw), "")
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := setup(t, d)
			t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
			b.clock = &fakeClock{t: t0}
			w := &journeyWorld{bundle: b, t0: t0, ctx: t.Context()}
			w.e = b.engine(t, b.campaign(t, yaml))
			b.startWorker(t, w.e, 4)
			hook := evHook(t, b)
			evPost(t, b, hook, "first", "ann", "o-1", "30.00", t0)
			w.sweep(t)
			w.at(time.Hour)
			evPost(t, b, hook, "second", "ann", "o-2", "30.00", w.clock.Now())
			w.sweep(t)
			checkSteps(t, w.steps(t, "welcome-series"), map[string]string{"ann": "ever/thank-you#1:sent"})
			if s := w.state(t, "welcome-series", "ann", "ever"); s.Status != store.JourneyWaiting || s.Step != "three-days" {
				t.Fatalf("ann: %+v, want waiting at three-days", s)
			}
			var n int
			if err := b.st.DB.Get(&n, `SELECT count(*) FROM journey_states`); err != nil || n != 1 {
				t.Fatalf("%d journey states (%v), want 1: a second purchase must not enter again", n, err)
			}
		})
	}
}
