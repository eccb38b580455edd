package worker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/admin"
	"github.com/tidings-crm/tidings/worker"
)

// forced is a test's world for forced runs: the bundle, an engine on a fake
// clock with a worker, and the admin API in front of it.
type forced struct {
	*bundle
	e   *worker.Engine
	srv *httptest.Server
}

const forcedCustomers = 4

// setupForced loads the campaigns and starts an engine on a fake clock at
// now, a worker, and the admin API.
func setupForced(t *testing.T, dialect store.Dialect, now time.Time, yamls ...string) *forced {
	t.Helper()
	f := &forced{bundle: setup(t, dialect)}
	f.clock = &fakeClock{t: now}
	f.addCustomers(t, forcedCustomers, nil)
	var list []*campaigns.Campaign
	for _, y := range yamls {
		list = append(list, f.campaign(t, y))
	}
	f.e = f.engine(t, list...)
	f.startWorker(t, f.e, 4)
	f.srv = httptest.NewServer(admin.Handler(f.e, quietLogger()))
	t.Cleanup(f.srv.Close)
	return f
}

// runAnswer is the admin API's answer to a run request.
type runAnswer struct {
	worker.Firing
	Hint  string `json:"hint"`
	Error string `json:"error"`
}

// run posts a run request (body "" sends none) and returns status and answer.
func (f *forced) run(t *testing.T, id, body string) (int, runAnswer) {
	t.Helper()
	resp, err := http.Post(f.srv.URL+"/v1/campaigns/"+id+"/run", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a runAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("run %s %s: answer is not JSON: %v", id, body, err)
	}
	return resp.StatusCode, a
}

func (f *forced) runs(t *testing.T, id string) int {
	t.Helper()
	n, err := f.st.CountRuns(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var (
	// firing is the newsletter's Monday 10:00 Paris firing.
	firing = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	monday = firing.Add(30 * time.Minute)
	// thursday is days after it, before the next one.
	thursday = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
)

// wantRun fails unless the answer has the status code and Firing status.
func wantRun(t *testing.T, code int, a runAnswer, wantCode int, wantStatus string) {
	t.Helper()
	if code != wantCode || a.Status != wantStatus || a.Occurrence == "" {
		t.Fatalf("run answered %d %+v, want %d %q with its occurrence", code, a, wantCode, wantStatus)
	}
}

// TestForcedRunTwiceSendsOnce forces the newsletter on the day it fired: the
// run names that firing; forced again (and days later, before the next
// firing) nothing is sent again and the answer says which occurrence ran; the
// scheduler does not run it a second time either.
func TestForcedRunTwiceSendsOnce(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f := setupForced(t, d, monday, newsletterYAML)
			code, a := f.run(t, "news", "")
			wantRun(t, code, a, http.StatusAccepted, worker.FiringStarted)
			if !a.ScheduledFor.Equal(firing) {
				t.Fatalf("forced run fired the occurrence of %s, want the latest due firing %s", a.ScheduledFor, firing)
			}
			f.waitRun(t, "news", a.Occurrence, 30*time.Second)
			f.smtp.WaitMessages(t, forcedCustomers, 10*time.Second)
			if n, err := (&worker.Scheduler{Engine: f.e}).Tick(context.Background(), monday); err != nil || n != 0 {
				t.Fatalf("the scheduler enqueued %d runs (%v) of an occurrence a forced run ran", n, err)
			}
			for _, now := range []time.Time{monday, thursday} {
				f.clock.Set(now)
				code, again := f.run(t, "news", "")
				wantRun(t, code, again, http.StatusOK, worker.FiringAlreadyRan)
				if again.Occurrence != a.Occurrence || again.Run == nil || again.Run.Status != "done" ||
					!strings.Contains(again.Hint, "name a new occurrence") {
					t.Fatalf("forced again at %s: %+v, want occurrence %s already ran, with a hint", now, again, a.Occurrence)
				}
			}
			if n := f.runs(t, "news"); n != 1 {
				t.Fatalf("%d runs, want 1", n)
			}
			if got := len(f.smtp.Messages()); got != forcedCustomers {
				t.Fatalf("SMTP server received %d messages, want %d", got, forcedCustomers)
			}
		})
	}
}

// TestForcedRunFindsTheOccurrenceTheSchedulerRan lets the scheduler fire a
// schedule and a daily trigger, then forces both: each answer names the
// scheduler's occurrence, and nothing runs again.
func TestForcedRunFindsTheOccurrenceTheSchedulerRan(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f := setupForced(t, d, monday, newsletterYAML, birthdayYAML)
			ctx := context.Background()
			if n, err := (&worker.Scheduler{Engine: f.e}).Tick(ctx, monday); err != nil || n != 2 {
				t.Fatalf("scheduler tick enqueued %d runs (%v), want 2", n, err)
			}
			for _, id := range []string{"news", "bday"} {
				waitFor(t, func() bool { n, _ := f.st.CountRuns(ctx, id); return n == 1 })
				ran, err := f.st.LastRun(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				f.waitRun(t, id, ran.Occurrence, 30*time.Second)
				code, a := f.run(t, id, "")
				wantRun(t, code, a, http.StatusOK, worker.FiringAlreadyRan)
				if a.Occurrence != ran.Occurrence {
					t.Fatalf("%s: forced run names %s, the scheduler ran %s", id, a.Occurrence, ran.Occurrence)
				}
				if n := f.runs(t, id); n != 1 {
					t.Fatalf("%s: %d runs, want 1", id, n)
				}
			}
			if got := len(f.smtp.Messages()); got != forcedCustomers {
				t.Fatalf("SMTP server received %d messages, want %d (the newsletter once)", got, forcedCustomers)
			}
		})
	}
}

// TestNamedOccurrenceSendsAgain asks for an extra send on purpose by naming a
// new occurrence: it goes out once more to everyone, and the same name again
// is the same run.
func TestNamedOccurrenceSendsAgain(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f := setupForced(t, d, thursday, newsletterYAML)
			code, a := f.run(t, "news", "")
			wantRun(t, code, a, http.StatusAccepted, worker.FiringStarted)
			f.waitRun(t, "news", a.Occurrence, 30*time.Second)
			const promo = `{"occurrence": "manual-2026-12-03-promo"}`
			code, extra := f.run(t, "news", promo)
			wantRun(t, code, extra, http.StatusAccepted, worker.FiringStarted)
			if extra.Occurrence != "manual-2026-12-03-promo" {
				t.Fatalf("named run fired %q", extra.Occurrence)
			}
			f.waitRun(t, "news", extra.Occurrence, 30*time.Second)
			f.smtp.WaitMessages(t, 2*forcedCustomers, 10*time.Second)
			code, again := f.run(t, "news", promo)
			wantRun(t, code, again, http.StatusOK, worker.FiringAlreadyRan)
			if n := f.runs(t, "news"); n != 2 {
				t.Fatalf("%d runs, want 2", n)
			}
			f.perRecipient(t, forcedCustomers, 2)
		})
	}
}

// TestTwoNamedRunsInTheSameSecondBothRun fires two distinct named
// occurrences and a repeat of one at the same instant: two runs, each
// customer gets two messages, and the repeat is answered, not refused.
func TestTwoNamedRunsInTheSameSecondBothRun(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f := setupForced(t, d, thursday, newsletterYAML) // the clock stands still: one second for all
			bodies := []string{`{"occurrence": "promo-a"}`, `{"occurrence": "promo-b"}`, `{"occurrence": "promo-a"}`}
			answers := make([]runAnswer, len(bodies))
			codes := make([]int, len(bodies))
			var wg sync.WaitGroup
			for i, body := range bodies {
				wg.Add(1)
				go func() { defer wg.Done(); codes[i], answers[i] = f.run(t, "news", body) }()
			}
			wg.Wait()
			for i, a := range answers {
				if codes[i] != http.StatusAccepted && codes[i] != http.StatusOK || a.Error != "" {
					t.Fatalf("run %s answered %d %+v", bodies[i], codes[i], a)
				}
			}
			f.waitRun(t, "news", "promo-a", 30*time.Second)
			f.waitRun(t, "news", "promo-b", 30*time.Second)
			if n := f.runs(t, "news"); n != 2 {
				t.Fatalf("%d runs, want 2 (promo-a once, promo-b)", n)
			}
			f.smtp.WaitMessages(t, 2*forcedCustomers, 10*time.Second)
			f.perRecipient(t, forcedCustomers, 2)
		})
	}
}

// perRecipient fails unless each of the customers received exactly n
// messages at the SMTP server.
func (b *bundle) perRecipient(t *testing.T, customers, n int) {
	t.Helper()
	per := map[string]int{}
	for _, m := range b.smtp.Messages() {
		per[strings.Join(m.To, ",")]++
	}
	if len(per) != customers {
		t.Fatalf("%d recipients, want %d", len(per), customers)
	}
	for to, got := range per {
		if got != n {
			t.Errorf("%s received %d messages, want %d", to, got, n)
		}
	}
}

const thanksYAML = `id: thanks
name: Thanks
trigger: {event: {type: purchase}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
messages: {email: {subject: "Thanks", text: "Thanks"}}
`

// TestForcedRunRejectsBadOccurrence sends malformed names and bodies, and
// forces an event campaign without a name: each is a 400 that says what to
// send instead, and no run is created.
func TestForcedRunRejectsBadOccurrence(t *testing.T) {
	t.Parallel()
	f := setupForced(t, store.SQLite, thursday, newsletterYAML, thanksYAML)
	cases := []struct{ id, body, want string }{
		{"news", `{"occurrence": "two words"}`, `occurrence "two words": use 1 to 64 letters`},
		{"news", `{"occurrence": "` + strings.Repeat("x", 65) + `"}`, "use 1 to 64 letters"},
		{"news", `{"occurrence": "-promo"}`, "starting with a letter or digit"},
		{"news", `{"occurence": "promo"}`, `unknown field "occurence"`},
		{"news", `promo`, `{"occurrence": "manual-2026-12-03-promo"}`},
		{"thanks", ``, `campaign "thanks" (event trigger) has no current occurrence to run; name one`},
	}
	for _, tc := range cases {
		code, a := f.run(t, tc.id, tc.body)
		if code != http.StatusBadRequest || !strings.Contains(a.Error, tc.want) {
			t.Errorf("run %s %s = %d %q, want 400 containing %q", tc.id, tc.body, code, a.Error, tc.want)
		}
	}
	if code, a := f.run(t, "nope", ""); code != http.StatusNotFound {
		t.Errorf("unknown campaign: %d %+v", code, a)
	}
	for _, id := range []string{"news", "thanks"} {
		if n := f.runs(t, id); n != 0 {
			t.Errorf("%s: %d runs after bad requests", id, n)
		}
	}
}

// TestCurrentOccurrenceIsTheLatestDueFiring checks the firing a forced run
// names: a schedule's latest firing at or before now however long ago (a
// week, a leap day), the scheduler's slot for a daily trigger, none for an
// event trigger.
func TestCurrentOccurrenceIsTheLatestDueFiring(t *testing.T) {
	t.Parallel()
	leap := `id: leap
name: Leap
trigger: {schedule: {cron: "0 0 29 2 *"}}
audience: email_consent
channels: [email]
messages: {email: {subject: "Leap", text: "Leap"}}
`
	cases := []struct {
		yaml string
		now  time.Time
		want time.Time // zero: none
	}{
		{newsletterYAML, monday, firing},
		{newsletterYAML, firing, firing},
		{newsletterYAML, firing.Add(-time.Second), firing.AddDate(0, 0, -7)},
		{newsletterYAML, thursday, firing},
		{everyMinuteYAML, thursday.Add(34*time.Minute + 56*time.Second), thursday.Add(34 * time.Minute)},
		{leap, thursday, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{birthdayYAML, thursday.Add(34 * time.Minute), thursday.Add(30 * time.Minute)},
		{thanksYAML, thursday, time.Time{}},
	}
	e := worker.NewEngine(nil, nil, nil, worker.Options{})
	for _, tc := range cases {
		c, problems := campaigns.Parse("test.yaml", []byte(tc.yaml))
		if campaigns.HasErrors(problems) {
			t.Fatal(problems)
		}
		key, at := e.CurrentOccurrence(c, tc.now)
		if !at.Equal(tc.want) || (key == "") != tc.want.IsZero() {
			t.Errorf("%s at %s: occurrence %q at %s, want %s", c.ID, tc.now, key, at, tc.want)
		}
	}
}
