package worker_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// journeyWorld is a bundle on a fake clock with an engine running one
// journey, its tasks served by a worker, and the purchase webhook.
type journeyWorld struct {
	*bundle
	e   *worker.Engine
	t0  time.Time
	ctx context.Context
}

func newJourneyWorld(t *testing.T, dialect store.Dialect, yaml string, customers int) *journeyWorld {
	t.Helper()
	b := setup(t, dialect)
	return startJourneyWorld(t, b, customers, func() *campaigns.Campaign { return b.campaign(t, yaml) })
}

// startJourneyWorld is newJourneyWorld on bundle b, with the journey load
// returns (parsed with settings of its own, or with b's channels changed).
func startJourneyWorld(t *testing.T, b *bundle, customers int, load func() *campaigns.Campaign) *journeyWorld {
	t.Helper()
	w := &journeyWorld{bundle: b, t0: time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC), ctx: context.Background()}
	b.clock = &fakeClock{t: w.t0}
	b.addCustomers(t, customers, nil)
	w.e = b.engine(t, load())
	b.startWorker(t, w.e, 4)
	return w
}

// enter fires the journey under occurrence key and waits for the entries.
func (w *journeyWorld) enter(t *testing.T, id, key string) {
	t.Helper()
	if err := w.e.Enqueue(w.ctx, id, key, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	w.waitPlanned(t, id, key)
}

// sweep runs one sweep at the fake clock's time and waits until every
// ledger row due now is settled (the worker sends them).
func (w *journeyWorld) sweep(t *testing.T) worker.SweepReport {
	t.Helper()
	rep, err := w.e.SweepJourneys(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "due messages to be sent", func() bool {
		n, err := w.st.CountDue(w.ctx, w.clock.Now())
		return err == nil && n == 0
	})
	return rep
}

// at moves the fake clock to t0+d.
func (w *journeyWorld) at(d time.Duration) { w.clock.Set(w.t0.Add(d)) }

// steps returns each customer's ledger rows of the journey as "step:status"
// in the order written, keyed by external id.
func (w *journeyWorld) steps(t *testing.T, journey string) map[string][]string {
	t.Helper()
	var rows []struct {
		Ext        string       `db:"external_id"`
		Occurrence string       `db:"occurrence"`
		Status     store.Status `db:"status"`
	}
	err := w.st.DB.Select(&rows, w.st.DB.Rebind(`SELECT c.external_id, d.occurrence, d.status FROM deliveries d
		JOIN customers c ON c.id = d.customer_id WHERE d.campaign_id = ? ORDER BY d.id`), journey)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.Ext] = append(out[r.Ext], r.Occurrence+":"+string(r.Status))
	}
	return out
}

// state returns a customer's journey state in an occurrence.
func (w *journeyWorld) state(t *testing.T, journey, ext, occ string) *store.JourneyState {
	t.Helper()
	c, err := w.st.CustomerByExternalID(w.ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	s, err := w.st.JourneyStateOf(w.ctx, journey, c.ID, occ)
	if err != nil {
		t.Fatalf("state of %s in %s/%s: %v", ext, journey, occ, err)
	}
	return s
}

func checkSteps(t *testing.T, got map[string][]string, want map[string]string) {
	t.Helper()
	for ext, w := range want {
		if g := strings.Join(got[ext], " "); g != w {
			t.Errorf("%s's sends = %q, want %q", ext, g, w)
		}
	}
}

const sequenceYAML = `id: seq
name: Sequence
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: email_consent
occurrence: every run
frequency: {class: transactional}
exit_on: [purchase]
steps:
  - id: hello
    send:
      channels: [email]
      messages:
        email: {subject: "Hello", text: "Hi {{ .external_id }}"}
  - id: pause
    wait: 3d
  - id: again
    send:
      channels: [email]
      messages:
        email: {subject: "Again", text: "Again {{ .external_id }}, since {{ .journey.entered_at }}"}
`

// TestJourneySequenceExitsOnPurchase: a 3-step sequence (send, wait 3d,
// send); one customer buys during the wait and leaves with reason purchase,
// the other gets both messages and completes. A second firing (occurrence
// every run) enters both again, and the send steps of the new occurrence
// are keyed apart from the first's.
func TestJourneySequenceExitsOnPurchase(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			w := newJourneyWorld(t, d, sequenceYAML, 2)
			hook := evHook(t, w.bundle)
			w.enter(t, "seq", "run-1")
			w.sweep(t)
			checkSteps(t, w.steps(t, "seq"), map[string]string{"c1": "run-1/hello#1:sent", "c2": "run-1/hello#1:sent"})
			if s := w.state(t, "seq", "c1", "run-1"); s.Status != store.JourneyWaiting || s.Step != "pause" ||
				!s.WakeAt.Equal(w.t0.Add(72*time.Hour)) {
				t.Fatalf("c1 after the first sweep: %+v, want waiting at pause until t0+3d", s)
			}
			w.at(24 * time.Hour)
			evPost(t, w.bundle, hook, "ev-1", "c1", "o-1", "30.00", w.clock.Now())
			w.sweep(t)
			if s := w.state(t, "seq", "c1", "run-1"); s.Status != store.JourneyDone || s.ExitReason != "purchase" {
				t.Fatalf("c1 after buying: %+v, want done (purchase)", s)
			}
			w.at(72 * time.Hour)
			w.sweep(t)
			checkSteps(t, w.steps(t, "seq"), map[string]string{"c1": "run-1/hello#1:sent",
				"c2": "run-1/hello#1:sent run-1/again#3:sent"})
			if s := w.state(t, "seq", "c2", "run-1"); s.Status != store.JourneyDone || s.ExitReason != "completed" {
				t.Fatalf("c2 at the end: %+v, want done (completed)", s)
			}
			if got := w.receivedBy(); got["customer1@example.com"] != 1 || got["customer2@example.com"] != 2 {
				t.Fatalf("SMTP received %v, want c1 once and c2 twice", got)
			}
			var again string
			for _, m := range w.smtp.Messages() {
				if strings.Contains(string(m.Data), "Subject: Again") {
					again = string(m.Data)
				}
			}
			if !strings.Contains(again, "since 2027-03-01") {
				t.Errorf("the second message does not read .journey.entered_at:\n%s", again)
			}
			checkFunnel(t, w, "seq", "hello 2/2/0/1 pause 1/0/0/0 again 1/1/0/0", "completed 1, purchase 1")
			// Re-entry: a new occurrence enters both customers afresh.
			w.at(7 * 24 * time.Hour)
			w.enter(t, "seq", "run-2")
			w.sweep(t)
			got := w.steps(t, "seq")
			if len(got["c1"]) != 2 || got["c1"][1] != "run-2/hello#1:sent" || len(got["c2"]) != 3 {
				t.Fatalf("after run-2: %v, want each customer's hello of run-2 added", got)
			}
		})
	}
}

const waitForYAML = `id: cart
name: Cart
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: email_consent
frequency: {class: transactional}
steps:
  - id: listen
    wait_for: {event: purchase, where: "event.amount >= 10", timeout: 1h, on_event: thanks, on_timeout: remind}
  - id: remind
    send:
      channels: [email]
      messages:
        email: {subject: "Forgot something?", text: "Come back"}
    next: done
  - id: thanks
    send:
      channels: [email]
      messages:
        email: {subject: "Thanks", text: "Thank you"}
  - id: done
    exit: finished
`

// TestJourneyWaitForTieTakesOneBranch: an event at the very instant of the
// timeout takes the event branch when it is recorded before the sweep, the
// timeout branch when the sweep came first; never both. An event that
// fails the filter is not the awaited one.
func TestJourneyWaitForTieTakesOneBranch(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			w := newJourneyWorld(t, d, waitForYAML, 3)
			hook := evHook(t, w.bundle)
			w.enter(t, "cart", "run-1")
			w.sweep(t)
			w.at(30 * time.Minute)
			evPost(t, w.bundle, hook, "small", "c3", "o-3", "5.00", w.clock.Now()) // below the filter
			w.sweep(t)
			if s := w.state(t, "cart", "c3", "run-1"); s.Status != store.JourneyWaiting || s.Step != "listen" {
				t.Fatalf("c3 after a purchase the filter refuses: %+v, want still waiting", s)
			}
			w.at(time.Hour)
			evPost(t, w.bundle, hook, "tie-1", "c1", "o-1", "20.00", w.clock.Now()) // recorded before the sweep
			w.sweep(t)
			evPost(t, w.bundle, hook, "tie-2", "c2", "o-2", "20.00", w.clock.Now()) // after it
			w.sweep(t)
			checkSteps(t, w.steps(t, "cart"), map[string]string{"c1": "run-1/thanks#2:sent",
				"c2": "run-1/remind#2:sent", "c3": "run-1/remind#2:sent"})
			for _, ext := range []string{"c1", "c2", "c3"} {
				if s := w.state(t, "cart", ext, "run-1"); s.Status != store.JourneyDone || s.ExitReason != "finished" {
					t.Errorf("%s: %+v, want done (finished)", ext, s)
				}
			}
		})
	}
}

const branchYAML = `id: tiers
name: Tiers
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: email_consent
frequency: {class: transactional}
steps:
  - id: pause
    wait: 1d
  - id: pick
    branch:
      - if: '"vip" in tags'
        next: vip
      - else: plain
  - id: vip
    send:
      channels: [email]
      messages:
        email: {subject: "VIP", text: "For you"}
    next: tag
  - id: plain
    send:
      channels: [email]
      messages:
        email: {subject: "Hello", text: "Hello"}
  - id: tag
    update: {tag: welcomed}
`

// TestJourneyBranchReadsTheCustomerWhenItRuns: a branch after a wait sees
// the customer as they are when it runs, not when they entered; an update
// step writes the profile.
func TestJourneyBranchReadsTheCustomerWhenItRuns(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			w := newJourneyWorld(t, d, branchYAML, 2)
			w.enter(t, "tiers", "run-1")
			w.sweep(t)
			if _, err := w.st.UpsertCustomers(w.ctx, []store.CustomerInput{{ExternalID: "c2", Tags: []string{"vip"}}}); err != nil {
				t.Fatal(err)
			}
			w.at(24 * time.Hour)
			w.sweep(t)
			checkSteps(t, w.steps(t, "tiers"), map[string]string{"c1": "run-1/plain#3:sent", "c2": "run-1/vip#3:sent"})
			for ext, tagged := range map[string]bool{"c1": true, "c2": true} {
				c, err := w.st.CustomerByExternalID(w.ctx, ext)
				if err != nil {
					t.Fatal(err)
				}
				if has := strings.Contains(fmt.Sprint(c.Tags), "welcomed"); has != tagged {
					t.Errorf("%s tags %v, want welcomed", ext, c.Tags)
				}
			}
		})
	}
}

// TestJourneyEditedWithCustomersInside: steps are matched by id. A
// customer at a step the new file removed exits with step_removed; one at
// a step that remains goes on under the new file.
func TestJourneyEditedWithCustomersInside(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			w := newJourneyWorld(t, d, sequenceYAML, 2)
			w.enter(t, "seq", "run-1")
			w.sweep(t) // both wait at pause
			// c2 is moved on to "again" by hand as a customer would be by an
			// earlier version; then the file drops "pause".
			edited := strings.Replace(sequenceYAML, "  - id: pause\n    wait: 3d\n", "", 1)
			edited = strings.Replace(edited, `"Again"`, `"Again, edited"`, 1)
			if _, err := w.st.DB.Exec(w.st.DB.Rebind(`UPDATE journey_states SET step_id = 'again', status = 'active',
				due_at = ? WHERE customer_id = (SELECT id FROM customers WHERE external_id = 'c2')`), w.t0); err != nil {
				t.Fatal(err)
			}
			w.e.SetCampaigns(append(w.e.Campaigns()[:0:0], w.campaign(t, edited)))
			rep := w.sweep(t)
			if rep.Removed != 1 {
				t.Errorf("sweep after the edit removed %d, want 1", rep.Removed)
			}
			if s := w.state(t, "seq", "c1", "run-1"); s.Status != store.JourneyDone || s.ExitReason != store.ExitStepRemoved {
				t.Errorf("c1 at the removed step: %+v, want done (step_removed)", s)
			}
			if s := w.state(t, "seq", "c2", "run-1"); s.Status != store.JourneyDone || s.ExitReason != "completed" {
				t.Errorf("c2 at a kept step: %+v, want done (completed)", s)
			}
			subjects := map[string]int{}
			for _, m := range w.smtp.Messages() {
				h, err := m.Header()
				if err != nil {
					t.Fatal(err)
				}
				subjects[h.Get("Subject")]++
			}
			if subjects["Hello"] != 2 || subjects["Again, edited"] != 1 {
				t.Errorf("subjects %v, want 2 Hello and 1 edited Again", subjects)
			}
		})
	}
}

// checkFunnel compares a journey report's steps, written "step
// passed/sent/waiting/converted ...", and its exits "reason n, ...".
func checkFunnel(t *testing.T, w *journeyWorld, id, steps, exits string) {
	t.Helper()
	r, err := w.e.Report(w.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var got, ex []string
	for _, s := range r.Journey.Steps {
		got = append(got, fmt.Sprintf("%s %d/%d/%d/%d", s.Step, s.Passed, s.Sent, s.Waiting, s.Converted))
	}
	for _, k := range slices.Sorted(maps.Keys(r.Journey.Exits)) {
		ex = append(ex, fmt.Sprintf("%s %d", k, r.Journey.Exits[k]))
	}
	if g := strings.Join(got, " "); g != steps {
		t.Errorf("funnel = %q, want %q", g, steps)
	}
	if g := strings.Join(ex, ", "); g != exits {
		t.Errorf("exits = %q, want %q", g, exits)
	}
}

const splitYAML = `id: paths
name: Paths
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: email_consent
holdout: 20%
frequency: {class: transactional}
steps:
  - id: pick
    split:
      - {arm: short, next: hello}
      - {arm: long, next: pause}
  - id: pause
    wait: 1d
  - id: hello
    send:
      channels: [email]
      messages:
        email: {subject: "Hello", text: "Hello"}
`

// TestJourneyHoldoutAndSplitArms: the holdout is drawn at entry and takes
// no step; the split sends each entered customer down one stable arm; the
// report counts both, with the arms' conversions.
func TestJourneyHoldoutAndSplitArms(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			const n = 40
			w := newJourneyWorld(t, d, splitYAML, n)
			w.enter(t, "paths", "run-1")
			w.sweep(t)
			c, _ := w.e.Campaign("paths")
			held, arms := 0, map[string]int{}
			for i := 1; i <= n; i++ {
				cust, err := w.st.CustomerByExternalID(w.ctx, fmt.Sprintf("c%d", i))
				if err != nil {
					t.Fatal(err)
				}
				s := w.state(t, "paths", cust.ExternalID, "run-1")
				if worker.InHoldout(c, cust.ID) {
					held++
					if s.Status != store.JourneyHoldout {
						t.Errorf("%s is in the holdout but its state is %+v", cust.ExternalID, s)
					}
					continue
				}
				want := c.Journey.Arm(c.Journey.Step("pick"), cust.ID, "run-1").ID
				if s.Arm != want {
					t.Errorf("%s took arm %q, want its stable draw %q", cust.ExternalID, s.Arm, want)
				}
				arms[s.Arm]++
			}
			w.at(2 * 24 * time.Hour)
			w.sweep(t)
			r, err := w.e.Report(w.ctx, "paths")
			if err != nil {
				t.Fatal(err)
			}
			if r.Journey.Holdout != int64(held) || r.Journey.Entered != int64(n-held) || held == 0 {
				t.Fatalf("report: %d entered, %d held; want %d and %d (and some held out)", r.Journey.Entered,
					r.Journey.Holdout, n-held, held)
			}
			for _, a := range r.Journey.Splits {
				if a.Audience != int64(arms[a.Arm]) {
					t.Errorf("split arm %s: %d entries, want %d", a.Arm, a.Audience, arms[a.Arm])
				}
			}
			if len(r.Journey.Splits) != 2 || r.Journey.Exits["completed"] != int64(n-held) {
				t.Errorf("splits %+v, exits %v; want both arms and every entered customer completed", r.Journey.Splits, r.Journey.Exits)
			}
			if got := len(w.smtp.Messages()); got != n-held {
				t.Errorf("%d messages sent, want one per entered customer (%d)", got, n-held)
			}
		})
	}
}
