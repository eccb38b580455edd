package campaigns

import (
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultLedgerRetention is how long the deliveries ledger keeps a row: 400
// days. Nothing purges the ledger yet; a purge must keep rows at least this
// long (Settings.LedgerRetention when it is set), because a row's unique
// key (campaign, customer, occurrence) is what makes a message once-only:
// a journey holding a customer longer than this could find a send step's
// row purged and send it again, and `once per N days` and `once per year`
// read the rows of earlier sends. 400 days covers a yearly occurrence with
// a margin, and matches the events' retention (docs/api.md).
const DefaultLedgerRetention = 400 * 24 * time.Hour

// ledgerRetention is the retention journeys are checked against.
func (s Settings) ledgerRetention() time.Duration {
	if s.LedgerRetention > 0 {
		return s.LedgerRetention
	}
	return DefaultLedgerRetention
}

// check runs the checks across steps: a send step exists, every step is
// reached, no loop spins without a wait, and no way through the journey
// waits longer than the ledger keeps its rows. at is the steps: key.
func (jp *journeyParser) check(at *yaml.Node) {
	if len(jp.sendIDs) == 0 && !jp.suggested[string(StepSend)] {
		jp.errorf(at, "a journey needs at least one send step (send: {channels, messages}); without one it sends nothing")
	}
	if len(jp.j.Steps) == 0 || jp.j.First().ID == "" {
		return
	}
	reached := jp.reach()
	for _, d := range jp.drafts {
		if s := d.step; s.ID != "" && !reached[s] {
			jp.add(SeverityWarning, s.idPos.line, s.idPos.col,
				"step %q is never reached: no step leads to it from %q, where customers enter; name it in a next:, or remove it", s.ID, jp.j.First().ID)
		}
	}
	jp.spinningLoops()
	jp.retention(reached)
}

// next lists the steps a step leads to, with the node naming each.
func (jp *journeyParser) next(s *Step) []ref {
	var out []ref
	for _, r := range jp.refs[s] {
		if r.to != "" {
			out = append(out, r)
		}
	}
	return out
}

// reach returns the steps a customer can reach from the first.
func (jp *journeyParser) reach() map[*Step]bool {
	seen := map[*Step]bool{jp.j.First(): true}
	queue := []*Step{jp.j.First()}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, r := range jp.next(s) {
			if t := jp.j.Step(r.to); !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	return seen
}

// waits reports whether a step holds its customers until a time or an
// event: a loop through it does not spin.
func waits(s *Step) bool { return s.Kind == StepWait || s.Kind == StepWaitFor }

// spinningLoops reports each loop made only of steps that do not wait: a
// customer in it would go round at once, for ever. The problem is at the
// reference that closes the loop.
func (jp *journeyParser) spinningLoops() {
	const (
		white = iota
		grey
		black
	)
	color := map[*Step]int{}
	reported := map[string]bool{} // one problem per loop, however many references close it
	var stack []*Step
	var visit func(s *Step)
	visit = func(s *Step) {
		color[s] = grey
		stack = append(stack, s)
		for _, r := range jp.next(s) {
			t := jp.j.Step(r.to)
			switch {
			case waits(t):
			case color[t] == grey:
				jp.loopProblem(stack, t, s, r, reported)
			case color[t] == white:
				visit(t)
			}
		}
		stack = stack[:len(stack)-1]
		color[s] = black
	}
	for _, s := range jp.j.Steps {
		if s.ID != "" && !waits(s) && color[s] == white {
			visit(s)
		}
	}
}

// loopProblem reports the loop from t along stack to s and back to t.
func (jp *journeyParser) loopProblem(stack []*Step, t, s *Step, r ref, reported map[string]bool) {
	var ids []string
	for i := len(stack) - 1; i >= 0; i-- {
		ids = append([]string{stack[i].ID}, ids...)
		if stack[i] == t {
			break
		}
	}
	loop := strings.Join(ids, " → ") + " → " + t.ID
	if reported[loop] {
		return
	}
	reported[loop] = true
	at := pos{s.idPos.line, s.idPos.col}
	if r.node != nil {
		at = pos{r.node.Line, r.node.Column}
	}
	jp.add(SeverityError, at.line, at.col,
		"the loop %s has no wait or wait_for: a customer would go round it at once, for ever; add a wait step to it", loop)
}

// holds bounds how long a step can hold a customer.
func holds(s *Step) time.Duration {
	switch {
	case s.Wait != nil:
		return s.Wait.Longest()
	case s.WaitFor != nil:
		return s.WaitFor.Timeout
	}
	return 0
}

// retention reports the waits that, alone or added to the longest way to
// them, hold a customer longer than the ledger keeps its rows. Loops are
// cut where they close (a loop's time has no bound: its visits are told
// apart by their visit number, not by time). Each problem is at the wait
// where the way first passes the retention.
func (jp *journeyParser) retention(reached map[*Step]bool) {
	limit := jp.settings.ledgerRetention()
	order, back := jp.topology()
	dist := map[*Step]time.Duration{} // the longest way from the first step
	pred := map[*Step]*Step{}         // the step before on that way
	for _, s := range order {
		for _, r := range jp.next(s) {
			t := jp.j.Step(r.to)
			if back[s][t] {
				continue
			}
			if d := dist[s] + holds(s); pred[t] == nil || d > dist[t] {
				dist[t], pred[t] = d, s
			}
		}
	}
	for _, d := range jp.drafts {
		s := d.step
		h := holds(s)
		if h == 0 || !reached[s] || dist[s] > limit || dist[s]+h <= limit {
			continue
		}
		what := d.where + "." + string(s.Kind)
		if h > limit {
			jp.errorf(d.body, "%s: this wait can hold a customer %s, longer than the ledger keeps its rows (%s): "+
				"the once-only keys of the journey's sends would be purged while the customer is still inside; wait less",
				what, FormatDuration(h), FormatDuration(limit))
			continue
		}
		var parts []string
		for p := pred[s]; p != nil; p = pred[p] {
			if hp := holds(p); hp > 0 {
				parts = append([]string{p.ID + " " + FormatDuration(hp)}, parts...)
			}
		}
		parts = append(parts, "this "+FormatDuration(h))
		jp.errorf(d.body, "%s: the waits on the longest way here (%s) add up to %s, longer than the ledger keeps its rows (%s): "+
			"the once-only keys of the journey's sends would be purged while the customer is still inside; shorten them",
			what, strings.Join(parts, " + "), FormatDuration(dist[s]+h), FormatDuration(limit))
	}
}

// topology orders the steps reachable from the first so that each comes
// before the steps it leads to, leaving out the references that close
// loops (back, by step).
func (jp *journeyParser) topology() (order []*Step, back map[*Step]map[*Step]bool) {
	back = map[*Step]map[*Step]bool{}
	state := map[*Step]int{} // 1: on the path, 2: done
	var post []*Step
	var visit func(s *Step)
	visit = func(s *Step) {
		state[s] = 1
		for _, r := range jp.next(s) {
			t := jp.j.Step(r.to)
			switch state[t] {
			case 0:
				visit(t)
			case 1:
				if back[s] == nil {
					back[s] = map[*Step]bool{}
				}
				back[s][t] = true
			}
		}
		state[s] = 2
		post = append(post, s)
	}
	visit(jp.j.First())
	for i := len(post) - 1; i >= 0; i-- {
		order = append(order, post[i])
	}
	return order, back
}
