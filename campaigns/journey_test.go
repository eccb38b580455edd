package campaigns_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
)

// eventJourney is the top of a small journey entered on a purchase: its
// steps follow.
const eventJourney = `id: j
name: J
trigger: {event: {type: purchase}}
audience: "true"
steps:
`

// parseJourney parses a journey file that must be valid.
func parseJourney(t *testing.T, src string) *campaigns.Journey {
	t.Helper()
	c, problems := campaigns.Parse("j.yaml", []byte(src))
	if campaigns.HasErrors(problems) || c.Journey == nil {
		t.Fatalf("journey: %v", problems)
	}
	return c.Journey
}

const modelJourney = `id: model
name: Model
trigger: {inactivity: {days: 90}}
audience: "true"
occurrence: once ever
exit_on: [purchase, {event: purchase, where: "event.amount >= 20"}]
steps:
  - id: hello
    send: {channels: [email], messages: {email: {subject: hi, text: "arm {{ .journey.arm }}"}}}
  - id: ab
    split:
      - {arm: a, weight: 70, next: pause}
      - {arm: b, weight: 30, next: buy}
  - id: pause
    wait: 3d
  - id: check
    branch:
      - {if: "journey.sent(\"hello\") && journey.purchases == 0", next: buy}
      - {if: "orders_count > 5", next: vip}
      - else: bye
  - id: buy
    wait_for: {event: purchase, where: "event.amount > 20", timeout: 1h, on_event: vip}
  - id: last
    send: {channels: [sms], messages: {sms: {text: "last call"}}}
  - id: vip
    update: {tag: [vip, winner], untag: lapsed, attributes: {tier: gold, points: 10, lapsed_at: null}}
    next: bye
  - id: bye
    exit: done
`

// TestJourneyModel walks the compiled model: steps by id, successors, and
// where Next sends a customer after each kind of step.
func TestJourneyModel(t *testing.T) {
	j := parseJourney(t, modelJourney)
	if j.First().ID != "hello" || j.Step("nope") != nil || len(j.Steps) != 8 {
		t.Fatalf("steps: first %s, %d in all", j.First().ID, len(j.Steps))
	}
	if got := strings.Join(j.Successors(j.Step("check")), " "); got != "buy vip bye" {
		t.Errorf("check leads to %q", got)
	}
	if got := strings.Join(j.Successors(j.Step("buy")), " "); got != "vip last" {
		t.Errorf("buy leads to %q", got)
	}
	if got := j.Successors(j.Step("bye")); len(got) != 0 {
		t.Errorf("an exit leads to %v", got)
	}
	vip := j.Step("vip").Update
	if strings.Join(vip.Tag, ",") != "vip,winner" || vip.Untag[0] != "lapsed" || vip.Attributes["tier"] != "gold" ||
		vip.Attributes["points"] != 10 || vip.Attributes["lapsed_at"] != nil || len(vip.Attributes) != 3 {
		t.Errorf("update: %+v", vip)
	}
	if len(j.ExitOn) != 2 || j.ExitOn[1].String() != `purchase where "event.amount >= 20"` {
		t.Errorf("exit_on: %v", j.ExitOn)
	}
	if msg := j.Step("hello").Send.Message; msg.ID != "model" || msg.Channels[0] != campaigns.Email || msg.Journey != nil {
		t.Errorf("send step message: %+v", msg)
	}

	env := rules.NewEnv(time.UTC)
	sent := map[string]bool{}
	env.Journey.Sent = func(s string) bool { return sent[s] }
	next := func(step string, o campaigns.Outcome) campaigns.Transition {
		t.Helper()
		o.Env = env
		tr, err := j.Next(j.Step(step), o)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return tr
	}
	for _, tc := range []struct {
		step   string
		o      campaigns.Outcome
		setup  func()
		to     string
		exit   string
		whyHas string
	}{
		{step: "hello", to: "ab"},
		{step: "pause", to: "check"},
		{step: "check", setup: func() { sent["hello"] = true }, to: "buy", whyHas: `"journey.sent(\"hello\") && journey.purchases == 0" holds`},
		{step: "check", setup: func() { env.Journey.Purchases, env.OrdersCount = 1, 9 }, to: "vip", whyHas: `"orders_count > 5" holds`},
		{step: "check", setup: func() { env.OrdersCount = 0 }, to: "bye", whyHas: "no rule holds (2 checked): else"},
		{step: "buy", o: campaigns.Outcome{Event: true}, to: "vip", whyHas: "a matching purchase event came"},
		{step: "buy", to: "last", whyHas: "no matching purchase event within 1h"},
		{step: "last", to: "vip"},
		{step: "vip", to: "bye"},
		{step: "bye", exit: "done"},
	} {
		if tc.setup != nil {
			tc.setup()
		}
		tr := next(tc.step, tc.o)
		want := tc.to
		if tr.To != want || tr.Exit != tc.exit || !strings.Contains(tr.Why, tc.whyHas) || tr.Exits() != (want == "") {
			t.Errorf("after %s: %+v; want to %q exit %q why %q", tc.step, tr, want, tc.exit, tc.whyHas)
		}
	}

	env.Journey.Sent = nil
	if _, err := j.Next(j.Step("check"), campaigns.Outcome{Env: env}); err == nil || !strings.Contains(err.Error(), "branch check") {
		t.Errorf("a branch rule that cannot run: %v, want an error naming the step", err)
	}
	tr, err := j.Next(j.Step("ab"), campaigns.Outcome{Customer: 42, Occurrence: "ever"})
	if err != nil || tr.Arm == "" || (tr.Arm == "a") != (tr.To == "pause") {
		t.Errorf("split: %+v, %v", tr, err)
	}
}

// TestJourneyEndsAfterTheLastStep: a step without next: goes to the step
// written after it, and the last one completes the journey.
func TestJourneyEndsAfterTheLastStep(t *testing.T) {
	j := parseJourney(t, eventJourney+`  - id: thanks
    send: {channels: [email], messages: {email: {subject: thanks, text: thanks}}}
  - id: later
    wait: 1d
`)
	tr, err := j.Next(j.Step("later"), campaigns.Outcome{})
	if err != nil || !tr.Exits() || tr.Exit != campaigns.ExitCompleted {
		t.Fatalf("after the last step: %+v, %v", tr, err)
	}
}

// TestWaitForTies: an event in the same instant as the timeout takes the
// event outcome; one nanosecond later, the timeout.
func TestWaitForTies(t *testing.T) {
	w := parseJourney(t, modelJourney).Step("buy").WaitFor
	since := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	deadline := w.Deadline(since)
	if !deadline.Equal(since.Add(time.Hour)) || !w.InTime(deadline, since) || w.InTime(deadline.Add(1), since) {
		t.Errorf("deadline %s; in time at it %v, after it %v", deadline, w.InTime(deadline, since), w.InTime(deadline.Add(1), since))
	}
	env := rules.NewEnv(time.UTC)
	for _, tc := range []struct {
		typ    string
		amount float64
		want   bool
	}{{"purchase", 25, true}, {"purchase", 20, false}, {"refund", 25, false}} {
		env.Event = rules.Event{Type: tc.typ, Amount: tc.amount}
		if ok, err := w.Matches(env); ok != tc.want || err != nil {
			t.Errorf("%s %v: %v, %v; want %v", tc.typ, tc.amount, ok, err, tc.want)
		}
	}
}

// TestSplitArmsAreStableAndWeighted: on 100,000 customers each arm of a
// 70/30 split gets its share within one point; the same customers in the
// same occurrence take the same arms from a journey parsed anew (as after
// a restart), and a new occurrence draws afresh.
func TestSplitArmsAreStableAndWeighted(t *testing.T) {
	t.Parallel()
	const n = 100000
	draw := func(occurrence string) []string {
		j := parseJourney(t, modelJourney)
		out := make([]string, n)
		for id := range int64(n) {
			out[id] = j.Arm(j.Step("ab"), id+1, occurrence).ID
		}
		return out
	}
	first, again, next := draw("2026"), draw("2026"), draw("2027")
	counts := map[string]int{}
	same, kept := 0, 0
	for i := range first {
		counts[first[i]]++
		if again[i] == first[i] {
			same++
		}
		if next[i] == first[i] {
			kept++
		}
	}
	if same != n {
		t.Fatalf("%d of %d customers changed arm on a second draw", n-same, n)
	}
	if share := float64(counts["a"]) / n; math.Abs(share-0.7) > 0.01 {
		t.Errorf("arm a has %.4f of customers, want 0.70 ± 0.01 (%v)", share, counts)
	}
	// Independent draws agree on 0.7² + 0.3² = 58% of customers.
	if share := float64(kept) / n; math.Abs(share-0.58) > 0.01 {
		t.Errorf("a new occurrence kept %.4f of customers on their arm, want 0.58 ± 0.01: the draws are not independent", share)
	}
}

// TestWaitWakeTimes: a wait's wake time in the customer's zone, across DST
// changes, by the time rules of campaigns.md.
func TestWaitWakeTimes(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	paris, _ := time.LoadLocation("Europe/Paris")
	lordHowe, _ := time.LoadLocation("Australia/Lord_Howe")
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	for _, tc := range []struct {
		name, wait string
		loc        *time.Location
		from, want time.Time
	}{
		{"a duration is elapsed time: 72 hours over the spring-forward night", "3d", ny,
			at(ny, 2027, 3, 12, 10, 0), at(ny, 2027, 3, 15, 11, 0)},
		{"a duration, then the next 10:00 local, over the spring-forward night", `{duration: 1d, until: "10:00"}`, ny,
			at(ny, 2027, 3, 13, 15, 0), at(ny, 2027, 3, 15, 10, 0)},
		{"a local time at the very instant is now", `{until: "10:00"}`, ny,
			at(ny, 2027, 3, 15, 10, 0), at(ny, 2027, 3, 15, 10, 0)},
		{"a local time skipped by the change wakes at the first instant after the gap", `{until: "02:30"}`, ny,
			at(ny, 2027, 3, 13, 20, 0), time.Date(2027, 3, 14, 7, 0, 0, 0, time.UTC)},
		{"a repeated local time wakes at its first instant", `{until: "01:30"}`, ny,
			at(ny, 2026, 10, 31, 12, 0), time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)},
		{"past the first 01:30 of a repeated hour, the next day's", `{until: "01:30"}`, ny,
			time.Date(2026, 11, 1, 6, 45, 0, 0, time.UTC), time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC)},
		{"a weekday over the spring-forward weekend", `{until: {weekday: MON, at: "09:00"}}`, paris,
			at(paris, 2027, 3, 26, 12, 0), time.Date(2027, 3, 29, 7, 0, 0, 0, time.UTC)},
		{"the same weekday after its time is next week's", `{until: {weekday: monday, at: "09:00"}}`, paris,
			at(paris, 2027, 3, 29, 9, 1), at(paris, 2027, 4, 5, 9, 0)},
		{"a half-hour change: 02:15 does not exist in Lord Howe", `{until: "02:15"}`, lordHowe,
			at(lordHowe, 2026, 10, 3, 20, 0), time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := parseJourney(t, eventJourney+`  - id: pause
    wait: `+tc.wait+`
  - id: hello
    send: {channels: [email], messages: {email: {subject: hi, text: hi}}}
`)
			got := j.Step("pause").Wait.WakeAt(tc.from, tc.loc)
			if !got.Equal(tc.want) {
				t.Errorf("from %s: wakes %s, want %s", tc.from.In(tc.loc), got.In(tc.loc), tc.want.In(tc.loc))
			}
		})
	}
}

// TestJourneyPath walks a loop through a wait: the walk stops after
// MaxSteps, the clock moves along the waits (Refresh hears each wake
// time), and a send step the customer cannot receive is not sent for
// journey.sent, so the branch leaves the loop on the second pass.
func TestJourneyPath(t *testing.T) {
	j := parseJourney(t, eventJourney+`  - id: ask
    send: {channels: [email], messages: {email: {subject: hi, text: hi}}}
  - id: pause
    wait: 1d
  - id: again
    branch:
      - {if: "journey.sent(\"ask\")", next: ask}
      - else: bye
  - id: bye
    exit: gave-up
`)
	start := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	walk := func(sent func(s *campaigns.Step) bool, limit int) ([]campaigns.PathStep, []time.Time) {
		env := rules.NewEnv(time.UTC)
		env.Now = start
		var refreshed []time.Time
		path, err := j.Path(campaigns.PathOptions{Env: env, Location: time.UTC, Customer: 1, Sent: sent, MaxSteps: limit,
			Refresh: func(now time.Time) { refreshed = append(refreshed, now) }})
		if err != nil {
			t.Fatal(err)
		}
		return path, refreshed
	}
	path, refreshed := walk(nil, 7)
	var ids []string
	for _, ps := range path {
		ids = append(ids, ps.Step.ID)
	}
	if strings.Join(ids, " ") != "ask pause again ask pause again ask" || len(refreshed) != 2 ||
		!refreshed[1].Equal(start.Add(48*time.Hour)) || !path[6].At.Equal(start.Add(48*time.Hour)) {
		t.Errorf("sent every time: %v, refreshed at %v", ids, refreshed)
	}
	path, _ = walk(func(*campaigns.Step) bool { return false }, 0)
	last := path[len(path)-1]
	if len(path) != 4 || path[0].Sent || last.Step.ID != "bye" || last.Then.Exit != "gave-up" {
		t.Errorf("never sent: %+v", path)
	}
}

// TestWaitForNext: a wait_for's next: is where an outcome without its own
// step goes, instead of the step written after.
func TestWaitForNext(t *testing.T) {
	j := parseJourney(t, eventJourney+`  - id: buy
    wait_for: {event: purchase, timeout: 1h, on_event: thanks}
    next: bye
  - id: thanks
    send: {channels: [email], messages: {email: {subject: thanks, text: thanks}}}
  - id: bye
    exit: no-purchase
`)
	buy := j.Step("buy")
	if got := strings.Join(j.Successors(buy), " "); got != "thanks bye" {
		t.Errorf("buy leads to %q, want thanks bye", got)
	}
	if tr, err := j.Next(buy, campaigns.Outcome{}); err != nil || tr.To != "bye" {
		t.Errorf("on timeout: %+v, %v; want bye", tr, err)
	}
}

// TestSendStepReadsJourney: only a send step whose templates (any locale or
// variant) name .journey asks a send for the journey's facts.
func TestSendStepReadsJourney(t *testing.T) {
	j := parseJourney(t, modelJourney)
	if !j.Step("hello").Send.Message.ReadsJourney() {
		t.Error("hello reads .journey.arm, but ReadsJourney is false")
	}
	if j.Step("last").Send.Message.ReadsJourney() {
		t.Error("last has no .journey, but ReadsJourney is true")
	}
	j = parseJourney(t, eventJourney+`  - id: thanks
    send:
      channels: [email]
      messages:
        email:
          subject: thanks
          text: thanks
          locales: {fr: {subject: merci, text: "merci depuis {{ .journey.entered_at }}"}}
`)
	if !j.Step("thanks").Send.Message.ReadsJourney() {
		t.Error("a locale's template reads .journey, but ReadsJourney is false")
	}
	c, _ := campaigns.Parse("c.yaml", []byte(`id: c
name: C
trigger: {event: {type: purchase}}
audience: "true"
channels: [email]
messages: {email: {subject: journey, text: "a journey"}}
`))
	if c == nil || c.ReadsJourney() {
		t.Error("a one-message campaign never reads .journey")
	}
}
