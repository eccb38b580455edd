package campaigns

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// LatePolicy says what becomes of a message that cannot go out at its
// planned time: SMS quiet hours push it to the next morning, an outage or
// a paused campaign holds it, a provider keeps refusing it for a while.
type LatePolicy string

const (
	// LateSend sends the message late, up to Late.Deadline after its
	// planned time (no limit when Deadline is 0).
	LateSend LatePolicy = "send"
	// LateExpire sends the message only on its planned local day, plus
	// Late.Deadline as a grace: a birthday greeting the day after the
	// birthday is worse than none.
	LateExpire LatePolicy = "expire"
)

// Late is the parsed `late` key. A message past its deadline is never sent:
// its ledger row is settled as expired, with the reason.
type Late struct {
	Policy LatePolicy
	// Deadline is, for LateSend, how long after its planned time a message
	// may still go out (0: no limit); for LateExpire, the grace after the
	// end of the planned day in the customer's zone.
	Deadline time.Duration
}

// DefaultLateDeadline is how late a campaign that sets no `late` key may
// send, unless its trigger is a birthday.
const DefaultLateDeadline = 24 * time.Hour

// DefaultLate is the policy of a campaign that sets no `late` key: a
// birthday greeting expires at the end of the customer's birthday; any
// other message may go out up to a day late (a newsletter, a win-back or a
// thank-you two days late after an outage reads as a mistake).
func DefaultLate(kind TriggerKind) Late {
	if kind == TriggerBirthday {
		return Late{Policy: LateExpire}
	}
	return Late{Policy: LateSend, Deadline: DefaultLateDeadline}
}

// ExpiresAt returns the last instant a message planned for planned, for a
// customer in zone loc, may be sent; the zero time when there is no limit.
func (l Late) ExpiresAt(planned time.Time, loc *time.Location) time.Time {
	switch l.Policy {
	case LateExpire:
		local := planned.In(loc)
		// The next local midnight (or, where DST skips midnight, the first
		// instant of the next day).
		next := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, loc)
		return next.Add(l.Deadline)
	case LateSend:
		if l.Deadline > 0 {
			return planned.Add(l.Deadline)
		}
	}
	return time.Time{}
}

// String describes the policy for messages, e.g. "send up to 1d late".
func (l Late) String() string {
	switch {
	case l.Policy == LateExpire && l.Deadline > 0:
		return "expire " + FormatDuration(l.Deadline) + " after the end of the planned local day"
	case l.Policy == LateExpire:
		return "expire at the end of the planned local day"
	case l.Deadline > 0:
		return "send up to " + FormatDuration(l.Deadline) + " late"
	}
	return "send late, without limit"
}

var latePolicies = []string{string(LateSend), string(LateExpire)}

// late reads `late: {policy: send|expire, deadline: 6h}`; without the key
// the trigger's default applies (the trigger is parsed first).
func (p *parser) late(n *yaml.Node, c *Campaign) {
	c.Late = DefaultLate(c.Trigger.Kind)
	if n == nil {
		return
	}
	f, ok := p.mapping(n, "late", []string{"policy", "deadline"})
	if !ok {
		return
	}
	pn := f.get("policy")
	if pn == nil {
		p.errorf(n, `late needs policy: send (send late, up to deadline) or expire (only on the planned local day), e.g. late: {policy: send, deadline: 6h}`)
		return
	}
	s, ok := p.oneOf(pn, "late.policy", latePolicies...)
	if !ok {
		return
	}
	l := Late{Policy: LatePolicy(s)}
	if dn := f.get("deadline"); dn != nil {
		before := len(p.problems)
		l.Deadline = p.duration(dn, "late.deadline")
		if len(p.problems) == before && l.Deadline == 0 && l.Policy == LateSend {
			p.errorf(dn, "late.deadline must be above 0 with policy send; leave deadline out to send late without limit")
		}
	}
	c.Late = l
}
