package campaigns

import (
	"time"

	"github.com/tidings-crm/tidings/rules"
)

// DefaultPathSteps bounds a walked path when PathOptions.MaxSteps is 0: a
// loop through waits would go on for ever.
const DefaultPathSteps = 50

// PathOptions are what Journey.Path needs to walk one customer's way.
type PathOptions struct {
	// Env is the customer's rule environment; its Now is when they enter.
	// Path fills its Journey and moves its Now along the waits.
	Env *rules.Env
	// Location is the customer's zone, where the waits' local times are read.
	Location *time.Location
	// Customer and Occurrence key the draw of the splits.
	Customer   int64
	Occurrence string
	// Sent says whether a send step's message would go out (the customer
	// can receive one of its channels), so that journey.sent reads it as
	// sent; nil: every one does.
	Sent func(s *Step) bool
	// Refresh is called when a wait moves Env.Now, to update what depends
	// on the clock (days since the last purchase); nil: only Now moves.
	Refresh func(now time.Time)
	// Visit, when set, is called with each step once it is decided, while
	// Env still describes that moment (to render a send step's message).
	// An error stops the walk and is returned.
	Visit func(PathStep) error
	// MaxSteps bounds the walk; 0 means DefaultPathSteps.
	MaxSteps int
}

// PathStep is one step of a walked path.
type PathStep struct {
	Step *Step
	// At is when the customer reaches the step.
	At time.Time
	// WakeAt is when a wait ends, or when a wait_for times out.
	WakeAt time.Time
	// Sent is whether a send step's message counts as sent.
	Sent bool
	// Then is where the customer goes next. It is zero for a wait_for:
	// the way on depends on what the customer does, so the walk stops.
	Then Transition
}

// Path walks the way a customer entering at Env.Now would take through
// the journey: what `tidings preview` shows. It assumes no exit_on event
// and no purchase comes (journey.purchases stays 0), counts a send step as
// sent when o.Sent says so, and stops at an exit, at a wait_for (both of
// its outcomes are the reader's to see), after MaxSteps steps, or at a
// branch whose rule fails to run (with that error). Nothing is written.
func (j *Journey) Path(o PathOptions) ([]PathStep, error) {
	limit := o.MaxSteps
	if limit <= 0 {
		limit = DefaultPathSteps
	}
	env, entered := o.Env, o.Env.Now
	sent, arm := map[string]bool{}, ""
	var out []PathStep
	for s := j.First(); s != nil && len(out) < limit; s = j.Step(out[len(out)-1].Then.To) {
		// Refresh may have cleared the customer's fields, journey with them.
		env.Journey = rules.Journey{EnteredAt: entered, Arm: arm, Sent: func(id string) bool { return sent[id] }}
		ps := PathStep{Step: s, At: env.Now}
		switch s.Kind {
		case StepSend:
			ps.Sent = o.Sent == nil || o.Sent(s)
			sent[s.ID] = ps.Sent
		case StepWait:
			ps.WakeAt = s.Wait.WakeAt(env.Now, o.Location)
		case StepWaitFor:
			ps.WakeAt = s.WaitFor.Deadline(env.Now)
			return append(out, ps), visit(o, ps)
		}
		tr, err := j.Next(s, Outcome{Env: env, Customer: o.Customer, Occurrence: o.Occurrence})
		if err != nil {
			return out, err
		}
		ps.Then = tr
		if tr.Arm != "" {
			arm = tr.Arm
		}
		out = append(out, ps)
		if err := visit(o, ps); err != nil || tr.Exits() {
			return out, err
		}
		if s.Kind == StepWait {
			env.Now = ps.WakeAt
			if o.Refresh != nil {
				o.Refresh(ps.WakeAt)
			}
		}
	}
	return out, nil
}

func visit(o PathOptions, ps PathStep) error {
	if o.Visit == nil {
		return nil
	}
	return o.Visit(ps)
}
