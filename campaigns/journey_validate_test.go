package campaigns

import (
	"strings"
	"testing"
)

// journeyHead is the top of every journey in the table below: its steps
// start on line 7.
const journeyHead = `id: j
name: J
trigger: {inactivity: {days: 90}}
audience: "true"
occurrence: once ever
steps:
`

// hello is a valid send step, for cases about other steps.
const hello = `  - id: hello
    send: {channels: [email], messages: {email: {subject: hi, text: hi}}}
`

// TestJourneyProblems: each mistake in a journey's steps is reported at its
// line and column, with what to write instead; want lists every problem of
// the file, in order (prefixes of "line:col: message").
func TestJourneyProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps string
		want  []string
	}{
		{"valid, with a loop through a wait", hello + `  - id: pause
    wait: 1d
  - id: again
    branch:
      - {if: "journey.sent(\"hello\") && orders_count == 0", next: pause}
      - else: bye
  - id: bye
    exit: done
`, nil},
		{"unknown step id, with the closest", hello + `    next: waitt
  - id: wait
    wait: 1d
`, []string{
			`9:11: steps.hello.next: unknown step "waitt"; did you mean "wait"? (steps: hello, wait)`,
			`10:9: warning: step "wait" is never reached: no step leads to it from "hello", where customers enter`}},
		{"duplicate id", hello + `  - id: hello
    wait: 1d
`, []string{`9:9: step id "hello" is used twice (first at line 7); give each step its own id`}},
		{"misspelt step type", hello + `  - id: pause
    wiat: 1d
`, []string{`10:5: unknown key "wiat" in step "pause"; did you mean "wait"? (valid keys: id, next, send, wait, wait_for, branch, split, update, exit)`}},
		{"unknown step type", hello + `  - id: mail
    email: {}
`, []string{
			`9:5: steps.mail needs one of send, wait, wait_for, branch, split, update, exit`,
			`10:5: unknown key "email" in step "mail" (valid keys: id, next, send, wait, wait_for, branch, split, update, exit)`}},
		{"two kinds in one step", `  - id: hello
    send: {channels: [email], messages: {email: {subject: hi, text: hi}}}
    wait: 1d
`, []string{`9:5: steps.hello has both send and wait; a step does one thing: write two steps`}},
		{"unreachable step", hello + `    next: bye
  - id: lost
    wait: 1d
  - id: bye
    exit: done
`, []string{`10:9: warning: step "lost" is never reached: no step leads to it from "hello", where customers enter; name it in a next:, or remove it`}},
		{"no send step", `  - id: pause
    wait: 1d
`, []string{`6:1: a journey needs at least one send step (send: {channels, messages}); without one it sends nothing`}},
		{"loop without a wait", hello + `  - id: tag
    update: {tag: contacted}
  - id: check
    branch:
      - {if: "orders_count > 0", next: bye}
      - else: hello
  - id: bye
    exit: done
`, []string{`14:15: the loop hello → tag → check → hello has no wait or wait_for: a customer would go round it at once, for ever; add a wait step to it`}},
		{"a step that leads to itself", hello + `    next: hello
`, []string{`9:11: the loop hello → hello has no wait or wait_for`}},
		{"one wait longer than the retention", hello + `  - id: pause
    wait: 401d
`, []string{`10:11: steps.pause.wait: this wait can hold a customer 401d, longer than the ledger keeps its rows (400d): the once-only keys of the journey's sends would be purged while the customer is still inside; wait less`}},
		{"waits adding up past the retention", hello + `  - id: pause
    wait: 200d
  - id: buy
    wait_for: {event: purchase, timeout: 150d, on_event: bye}
  - id: long
    wait: {duration: 60d, until: "10:00"}
  - id: more
    wait: 300d
  - id: bye
    exit: done
`, []string{`14:11: steps.long.wait: the waits on the longest way here (pause 200d + buy 150d + this 61d) add up to 411d, longer than the ledger keeps its rows (400d)`}},
		{"a send step's messages, checked as a campaign's", `  - id: hello
    send:
      channels: [email, sms]
      messages: {email: {subject: "Hi {{ .frist_name }}", text: "{{ .offer.code }}"}}
`, []string{
			`10:17: messages.sms is missing: channel sms is listed in channels`,
			`10:43: messages.email.subject: unknown field "frist_name"; did you mean "first_name"?`,
			`10:76: messages.email.text: unknown field "code" in .offer (this campaign defines no offer)`}},
		{"a send step without channels or messages", `  - id: hello
    send: {offer: {code: X}}
`, []string{
			`8:11: steps.hello.send needs channels, e.g. channels: [email]`,
			`8:11: steps.hello.send needs messages`}},
		{"branch without else, and a send step it does not have", hello + `  - id: check
    branch:
      - if: journey.sent("helo")
        next: bye
  - id: bye
    exit: done
`, []string{
			`11:7: steps.check.branch needs a last case {else: STEP}: where customers go when no rule holds`,
			`11:26: steps.check.branch.if: journey.sent: "helo" is not a send step of this journey; did you mean "hello"?`}},
		{"else before the last case", hello + `  - id: check
    branch:
      - else: bye
      - {if: "true", next: bye}
  - id: bye
    exit: done
`, []string{`11:9: steps.check.branch: else must be the last case`}},
		{"next on a branch", hello + `  - id: check
    branch: [{if: "true", next: bye}, {else: bye}]
    next: bye
  - id: bye
    exit: done
`, []string{`11:11: steps.check.next: a branch names the step after each case (next, else); remove next`}},
		{"next on an exit", hello + `  - id: bye
    exit: done
    next: hello
`, []string{`11:11: steps.bye.next: an exit step ends the journey; remove next`}},
		{"split arms", hello + `  - id: ab
    split:
      - {arm: holdout, next: bye}
  - id: bye
    exit: done
`, []string{
			`11:7: steps.ab.split needs at least two arms`,
			`11:15: steps.ab.split: arm "holdout" is reserved for the campaign report; choose another name`}},
		{"duplicate arm and a zero weight", hello + `  - id: ab
    split:
      - {arm: a, weight: 0, next: bye}
      - {arm: a, next: bye}
  - id: bye
    exit: done
`, []string{
			`11:26: steps.ab.split.weight must be above 0, not 0`,
			`12:15: steps.ab.split: arm "a" is used twice`}},
		{"waits of nothing", hello + `  - id: zero
    wait: 0s
  - id: empty
    wait: {}
  - id: weekday
    wait: {until: {at: "09:00"}}
`, []string{
			`10:11: steps.zero.wait must be above 0, e.g. 3d`,
			`12:11: steps.empty.wait needs duration or until`,
			`14:19: steps.weekday.wait.until needs weekday`}},
		{"wait_for without timeout, of a type close to a common one", hello + `  - id: buy
    wait_for: {event: purchased}
`, []string{
			`10:15: steps.buy.wait_for needs timeout`,
			`10:23: warning: steps.buy.wait_for.event: "purchased" is not a common event type; did you mean "purchase"? (any type the shop sends works; ignore this if "purchased" is one)`}},
		{"wait_for of something not an event type", hello + `  - id: buy
    wait_for: {event: Cart Updated, timeout: 1d}
`, []string{
			`10:23: steps.buy.wait_for.event: "Cart Updated" is not an event type: lowercase letters, digits and _, starting with a letter, e.g. cart_updated`}},
		{"update with a list as a value", hello + `  - id: tag
    update: {tag: "", attributes: {tier: [gold]}}
`, []string{
			`10:19: steps.tag.update.tag: a tag cannot be empty`,
			`10:42: steps.tag.update.attributes.tier must be text, a number, true or false (or null to remove it), not a list`}},
		{"no steps", "  []\n", []string{`7:3: steps must list at least one step`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkProblems(t, journeyHead+tc.steps, tc.want)
		})
	}
}

// checkProblems parses src and matches its problems, in order, with want.
func checkProblems(t *testing.T, src string, want []string) {
	t.Helper()
	_, problems := Parse("j.yaml", []byte(src))
	if len(problems) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(problems), len(want), problemLines(problems))
	}
	for i, p := range problems {
		if got := strings.TrimPrefix(p.String(), "j.yaml:"); !strings.HasPrefix(got, want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s...", i+1, got, want[i])
		}
	}
}

func problemLines(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

// TestJourneyKeysAtTheTop: a journey's message keys are its send steps',
// and journey is for branch rules (exit_on's filters are any campaign's).
func TestJourneyKeysAtTheTop(t *testing.T) {
	checkProblems(t, `id: j
name: J
trigger: {inactivity: {days: 90}}
audience: journey.arm == "a"
occurrence: once ever
offer: {code: X}
exit_on: [purchase, {event: purchase, where: "event.amount > 20"}]
steps:
`+hello, []string{
		`4:11: audience: journey is only available in the branch rules of a journey's steps`,
		`6:1: offer belongs in a journey's send steps`})
	checkProblems(t, `id: one
name: One
trigger: {event: {type: purchase}}
audience: "true"
channels: [email]
exit_on: [{event: purchase, where: "event.amount > 20"}]
messages: {email: {subject: hi, text: "{{ .journey.arm }}"}}
`, []string{
		`7:44: messages.email.text: unknown field "journey"`})
}
