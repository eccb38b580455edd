package campaigns

import (
	"fmt"
	"slices"
	"time"

	"github.com/tidings-crm/tidings/rules"
)

// A journey is a campaign whose `messages:` are replaced by `steps:`
// (docs/journeys.md). This file is the compiled model the journey engine
// runs: steps by id, each step's successors, and the pure decisions (the
// next step after an outcome, a split's arm, a wait's wake time). Parsing is
// in journey_parse.go, the checks across steps in journey_validate.go.

// StepKind names what a journey step does.
type StepKind string

// The step kinds, as spelled in a step's mapping.
const (
	StepSend    StepKind = "send"
	StepWait    StepKind = "wait"
	StepWaitFor StepKind = "wait_for"
	StepBranch  StepKind = "branch"
	StepSplit   StepKind = "split"
	StepUpdate  StepKind = "update"
	StepExit    StepKind = "exit"
)

// stepKinds lists the kinds in documentation order.
var stepKinds = []string{string(StepSend), string(StepWait), string(StepWaitFor), string(StepBranch),
	string(StepSplit), string(StepUpdate), string(StepExit)}

// ExitCompleted is the exit reason of a customer who runs past the last step.
const ExitCompleted = "completed"

// Journey is the compiled `steps:` of a campaign (Campaign.Journey). It is
// read-only after Parse and safe for concurrent use.
type Journey struct {
	// ID is the campaign's id.
	ID string
	// Steps are in file order; every customer enters at Steps[0].
	Steps []*Step
	// ExitOn are the events that end a customer's journey early, each with
	// its filter (exit_on); Campaign.ExitOn lists their types.
	ExitOn []EventFilter

	byID map[string]*Step
}

// Step is one step of a journey. Exactly the pointer matching Kind is set.
type Step struct {
	ID   string
	Kind StepKind
	// Next is the successor of a send, wait or update step: the step its
	// `next:` names, else the step after it in the file; "" after the last
	// step, where the customer exits with ExitCompleted. Branch, split and
	// wait_for steps name their successors per outcome (a wait_for's next:
	// is where an outcome without its own step goes); exit has none.
	Next string

	Send    *SendStep
	Wait    *WaitStep
	WaitFor *WaitForStep
	Branch  *BranchStep
	Split   *SplitStep
	Update  *UpdateStep
	Exit    *ExitStep

	idPos pos
}

// SendStep sends one message, as a one-message campaign does.
type SendStep struct {
	// Message is the step as a one-message campaign: the journey's id and
	// settings (frequency, late, holdout, attribution...) with this step's
	// channels, recipient, offer, variants and messages. Planning, Render,
	// Campaign.Data and Reachable take it as they take any campaign.
	Message *Campaign
}

// WaitStep holds the customer for a while: Duration, then (with Until) to
// the next time the customer's clocks show Until.
type WaitStep struct {
	// Duration is elapsed time: 3d is 72 hours, so across a change of
	// clocks it ends an hour earlier or later on the wall clock; Until
	// pins a local time.
	Duration time.Duration
	Until    *WaitUntil
}

// WaitUntil is a local time of day, on any day or on one weekday, read in
// the customer's zone with the time rules of campaigns.md (WallTime).
type WaitUntil struct {
	At      ClockTime
	Weekday *time.Weekday // nil: any day
}

// WaitForStep waits for an event of the customer matching its filter, at
// most Timeout, and goes on to OnEvent or OnTimeout.
type WaitForStep struct {
	EventFilter
	Timeout   time.Duration
	OnEvent   string
	OnTimeout string
}

// EventFilter is an event type and an optional rule over the event and the
// customer (`where`, with the event in env.Event): what wait_for waits for
// and what an exit_on entry exits on.
type EventFilter struct {
	Event string
	Where *rules.Program // nil: every event of the type
}

// BranchStep takes the first case whose rule holds, else Else.
type BranchStep struct {
	Cases []BranchCase
	Else  string
}

// BranchCase is one `{if: RULE, next: STEP}` of a branch. The rule sees the
// customer, now, and journey (rules.Journey).
type BranchCase struct {
	If   *rules.Program
	Next string
}

// SplitStep sends each customer down one arm, drawn by weight and stable
// per (journey, customer, occurrence): see Journey.Arm.
type SplitStep struct {
	Arms []SplitArm
}

// SplitArm is one arm of a split.
type SplitArm struct {
	ID     string
	Weight float64
	Next   string
}

// UpdateStep changes the customer's profile.
type UpdateStep struct {
	Tag   []string
	Untag []string
	// Attributes are set to these values (text, numbers, true/false); a
	// nil value removes the attribute.
	Attributes map[string]any
}

// ExitStep ends the journey with a reason (a slug, counted in reports).
type ExitStep struct {
	Reason string
}

// Step returns the step with the given id, or nil.
func (j *Journey) Step(id string) *Step { return j.byID[id] }

// First is the step every customer enters at.
func (j *Journey) First() *Step { return j.Steps[0] }

// Successors lists the ids a step may lead to, once each, in the order of
// its outcomes; "" (exit after the last step) is left out.
func (j *Journey) Successors(s *Step) []string {
	var out []string
	for _, e := range s.edges() {
		if e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// edges are a step's successors by outcome, "" for an exit.
func (s *Step) edges() []string {
	switch s.Kind {
	case StepSend, StepWait, StepUpdate:
		return []string{s.Next}
	case StepWaitFor:
		return []string{s.WaitFor.OnEvent, s.WaitFor.OnTimeout}
	case StepBranch:
		out := make([]string, 0, len(s.Branch.Cases)+1)
		for _, c := range s.Branch.Cases {
			out = append(out, c.Next)
		}
		return append(out, s.Branch.Else)
	case StepSplit:
		out := make([]string, 0, len(s.Split.Arms))
		for _, a := range s.Split.Arms {
			out = append(out, a.Next)
		}
		return out
	}
	return nil
}

// Transition is where a customer goes after a step: to another step, or
// out of the journey with a reason.
type Transition struct {
	// To is the next step's id; "" when the customer exits.
	To string
	// Exit is the reason when To is "": an exit step's reason, or
	// ExitCompleted after the last step.
	Exit string
	// Arm is the arm a split step chose ("" for other steps).
	Arm string
	// Why says, for people (preview, logs), why this way: the rule that
	// held, the arm drawn, the wait_for's outcome.
	Why string
}

// Exits reports whether the transition leaves the journey.
func (t Transition) Exits() bool { return t.To == "" }

// Outcome is what Next needs to know of a step's run besides the step.
type Outcome struct {
	// Env is the customer's rule environment, with Journey filled in (the
	// branch rules read it).
	Env *rules.Env
	// Event says how a wait_for ended: true when a matching event came by
	// the deadline (see WaitForStep.InTime), false when it timed out.
	Event bool
	// Customer and Occurrence key a split's stable draw.
	Customer   int64
	Occurrence string
}

// Next returns where a customer goes after step s: for send, wait and
// update steps their successor, for wait_for the outcome's, for a branch
// the first case whose rule holds (an error when a rule fails to run), for
// a split the customer's arm, for exit the way out. It has no side effects.
func (j *Journey) Next(s *Step, o Outcome) (Transition, error) {
	switch s.Kind {
	case StepSend, StepWait, StepUpdate:
		return to(s.Next, ""), nil
	case StepExit:
		return Transition{Exit: s.Exit.Reason, Why: "exit step"}, nil
	case StepWaitFor:
		if o.Event {
			return to(s.WaitFor.OnEvent, "a matching "+s.WaitFor.Event+" event came"), nil
		}
		return to(s.WaitFor.OnTimeout, "no matching "+s.WaitFor.Event+" event within "+FormatDuration(s.WaitFor.Timeout)), nil
	case StepBranch:
		return s.Branch.next(s.ID, o.Env)
	case StepSplit:
		arm := j.Arm(s, o.Customer, o.Occurrence)
		t := to(arm.Next, fmt.Sprintf("arm %s (weight %g of %g)", arm.ID, arm.Weight, s.Split.totalWeight()))
		t.Arm = arm.ID
		return t, nil
	}
	return Transition{}, fmt.Errorf("journey %s: step %s has no kind", j.ID, s.ID)
}

// to is the transition to step id, or the completed exit for "".
func to(id, why string) Transition {
	if id == "" {
		if why != "" {
			why += "; "
		}
		return Transition{Exit: ExitCompleted, Why: why + "past the last step"}
	}
	return Transition{To: id, Why: why}
}

func (b *BranchStep) next(step string, env *rules.Env) (Transition, error) {
	if env == nil {
		return Transition{}, fmt.Errorf("branch %s: no rule environment", step)
	}
	for _, c := range b.Cases {
		ok, err := c.If.Eval(env)
		if err != nil {
			return Transition{}, fmt.Errorf("branch %s: rule %q: %w", step, c.If.Source(), err)
		}
		if ok {
			return to(c.Next, fmt.Sprintf("%q holds", c.If.Source())), nil
		}
	}
	why := fmt.Sprintf("no rule holds (%d checked): else", len(b.Cases))
	return to(b.Else, why), nil
}

func (s *SplitStep) totalWeight() float64 {
	total := 0.0
	for _, a := range s.Arms {
		total += a.Weight
	}
	return total
}

// Arm returns the customer's arm of split step s. The draw is
// StableUniform over (journey, step, occurrence, customer): the same
// customer in the same occurrence takes the same arm however often it is
// evaluated (after a crash, on another node), arms get customers in
// proportion to their weights, and a new occurrence draws afresh.
func (j *Journey) Arm(s *Step, customerID int64, occurrence string) SplitArm {
	arms := s.Split.Arms
	u := StableUniform(customerID, "split", j.ID, s.ID, occurrence)
	return arms[pickWeighted(u, len(arms), func(i int) float64 { return arms[i].Weight })]
}

// WakeAt returns when a customer who reaches the wait at from, living in
// loc, wakes: from plus Duration, then with Until the first instant at or
// after that when loc's clocks show Until's time (on its weekday). Local
// times follow WallTime: a time skipped by a change of clocks wakes at the
// first instant after the gap, a repeated one at its first instant.
func (w *WaitStep) WakeAt(from time.Time, loc *time.Location) time.Time {
	t := from.Add(w.Duration)
	if w.Until == nil {
		return t
	}
	return w.Until.next(t, loc)
}

// next is the first instant at or after t at which loc shows u's time.
func (u *WaitUntil) next(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	for i := 0; ; i++ { // at most 8 days: today, and the same weekday next week
		day := time.Date(y, m, d+i, 12, 0, 0, 0, time.UTC) // the calendar date, normalised
		if u.Weekday != nil && day.Weekday() != *u.Weekday {
			continue
		}
		if at := WallTime(day.Year(), day.Month(), day.Day(), u.At.Hour, u.At.Minute, loc); !at.Before(t) {
			return at
		}
	}
}

// Longest bounds how long the wait can hold a customer: Duration plus a
// day for Until's time, a week for its weekday (the validation of the
// ledger's retention uses it).
func (w *WaitStep) Longest() time.Duration {
	switch {
	case w.Until == nil:
		return w.Duration
	case w.Until.Weekday == nil:
		return w.Duration + 24*time.Hour
	}
	return w.Duration + 7*24*time.Hour
}

// String describes the wait as a file would write it: "3d", "7d, then
// 10:00", "until MON 09:00".
func (w *WaitStep) String() string {
	var s string
	if w.Duration > 0 {
		s = FormatDuration(w.Duration)
	}
	if w.Until == nil {
		return s
	}
	at := w.Until.At.String()
	if w.Until.Weekday != nil {
		at = weekdayNames[*w.Until.Weekday] + " " + at
	}
	if s == "" {
		return "until " + at
	}
	return s + ", then " + at
}

// InTime reports whether an event that happened at eventAt, for a customer
// waiting since since, takes the wait_for's event outcome: at or before the
// deadline (since + Timeout) it does, so an event in the same instant as
// the timeout counts as in time; after it, the timeout outcome is taken.
func (w *WaitForStep) InTime(eventAt, since time.Time) bool {
	return !eventAt.After(w.Deadline(since))
}

// Deadline is when a customer waiting since since times out.
func (w *WaitForStep) Deadline(since time.Time) time.Time { return since.Add(w.Timeout) }

// Matches reports whether the event in env.Event (with the customer in
// env) is of the filter's type and passes its rule.
func (f EventFilter) Matches(env *rules.Env) (bool, error) {
	if env.Event.Type != f.Event {
		return false, nil
	}
	if f.Where == nil {
		return true, nil
	}
	return f.Where.Eval(env)
}

// String writes the filter as `purchase` or `purchase where "event.amount > 20"`.
func (f EventFilter) String() string {
	if f.Where == nil {
		return f.Event
	}
	return fmt.Sprintf("%s where %q", f.Event, f.Where.Source())
}
