package campaigns

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tidings-crm/tidings/rules"
)

// stepKeys are the keys of one step: its id, its successor and its kind.
var stepKeys = append([]string{"id", "next"}, stepKinds...)

// sendKeys are the keys of a send step: a campaign's message keys. A
// journey writes them in its send steps, never at the top.
var sendKeys = []string{"channels", "recipient", "offer", "survey", "variants", "messages"}

// weekdayNames spell time.Weekday as `until: {weekday: MON}` does.
var weekdayNames = [7]string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

// stepDraft is a step read by the first pass (id, kind, nodes) before its
// body is parsed, once every id is known.
type stepDraft struct {
	step  *Step
	where string     // "steps.<id>", the prefix of its problems
	node  *yaml.Node // the step's mapping
	body  *yaml.Node // the kind's value
	next  *yaml.Node // the value of next:, nil without it
	// after is where the step goes by default: its next:, else the step
	// written after it ("" for the last).
	after string
}

// journeyParser parses one campaign's steps.
type journeyParser struct {
	*parser
	c       *Campaign
	j       *Journey
	drafts  []*stepDraft
	ids     []string // every step id, in file order
	sendIDs []string // the send steps' ids, for journey.sent("...")
	// refs are the nodes naming each step's successors (nil: the step
	// written after it), for the problems of the checks across steps.
	refs map[*Step][]ref
}

// ref is one way out of a step and the node that names it.
type ref struct {
	to   string
	node *yaml.Node
}

// journey parses `steps:` into c.Journey and checks them across steps.
func (p *parser) journey(f fields, c *Campaign, exits []EventFilter) {
	for _, k := range sendKeys {
		if kn := f.key[k]; kn != nil {
			p.errorf(kn, "%s belongs in a journey's send steps: with steps:, each send step has its own channels, messages, offer, survey, variants and recipient", k)
		}
	}
	n := f.get("steps")
	items := p.list(n, "steps")
	if len(items) == 0 {
		if resolve(n).Kind == yaml.SequenceNode {
			p.errorf(n, "steps must list at least one step, e.g. - {id: first-email, send: {...}}")
		}
		return
	}
	jp := &journeyParser{parser: p, c: c, j: &Journey{ID: c.ID, ExitOn: exits, byID: map[string]*Step{}},
		refs: map[*Step][]ref{}}
	jp.read(items)
	for _, d := range jp.drafts {
		jp.body(d)
	}
	c.Journey = jp.j
	jp.check(f.key["steps"])
}

// read is the first pass: each step's id and kind.
func (jp *journeyParser) read(items []*yaml.Node) {
	for i, item := range items {
		d := &stepDraft{step: &Step{}, where: fmt.Sprintf("steps[%d]", i+1), node: item}
		if idn := mappingValue(item, "id"); idn != nil {
			jp.stepID(d, idn)
		}
		f, ok := jp.mapping(item, "step "+d.label(), stepKeys)
		if !ok {
			continue
		}
		if f.get("id") == nil {
			jp.errorf(item, "%s needs an id (a slug naming the step, e.g. id: first-email)", d.where)
		}
		var kinds []string
		for _, k := range stepKinds {
			if f.get(k) != nil {
				kinds = append(kinds, k)
			}
		}
		switch {
		case len(kinds) > 1:
			jp.errorf(f.key[kinds[1]], "%s has both %s and %s; a step does one thing: write two steps", d.where, kinds[0], kinds[1])
		case len(kinds) == 0 && !slices.ContainsFunc(stepKinds, func(k string) bool { return jp.suggested[k] }):
			jp.errorf(item, "%s needs one of %s", d.where, strings.Join(stepKinds, ", "))
		}
		if len(kinds) > 0 {
			d.step.Kind, d.body = StepKind(kinds[0]), f.get(kinds[0])
		}
		d.next = f.get("next")
		if prev := len(jp.drafts); prev > 0 {
			jp.drafts[prev-1].after = d.step.ID
		}
		jp.drafts = append(jp.drafts, d)
		jp.j.Steps = append(jp.j.Steps, d.step)
		if d.step.Kind == StepSend && d.step.ID != "" {
			jp.sendIDs = append(jp.sendIDs, d.step.ID)
		}
	}
}

// label names a step in problems: its id, or its place in the list.
func (d *stepDraft) label() string {
	if d.step.ID != "" {
		return fmt.Sprintf("%q", d.step.ID)
	}
	return d.where
}

// stepID reads and registers a step's id: a slug, used once.
func (jp *journeyParser) stepID(d *stepDraft, n *yaml.Node) {
	s, ok := jp.str(n, d.where+".id")
	switch {
	case !ok:
		return
	case !isSlug(s):
		jp.errorf(n, "step id %q must be a slug: lower-case letters, digits, '-' or '_' (e.g. first-email)", s)
		return
	case jp.j.byID[s] != nil:
		jp.errorf(n, "step id %q is used twice (first at line %d); give each step its own id", s, jp.j.byID[s].idPos.line)
		return
	}
	d.step.ID, d.step.idPos, d.where = s, pos{n.Line, n.Column}, "steps."+s
	jp.j.byID[s] = d.step
	jp.ids = append(jp.ids, s)
}

// mappingValue returns the value of key in mapping n without checking it.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if resolve(n.Content[i]).Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

// body is the second pass for one step: its kind's body and successors.
func (jp *journeyParser) body(d *stepDraft) {
	s, what := d.step, d.where+"."+string(d.step.Kind)
	switch {
	case d.next == nil:
	case noNext[s.Kind] != "":
		jp.errorf(d.next, "%s.next: %s", d.where, noNext[s.Kind])
	default: // next: replaces the step written after as the default successor
		d.after = jp.stepRef(d.next, d.where+".next")
	}
	switch s.Kind {
	case StepSend:
		s.Send = jp.send(d.body, what)
	case StepWait:
		s.Wait = jp.wait(d.body, what)
	case StepWaitFor:
		s.WaitFor = jp.waitFor(d, what)
	case StepBranch:
		s.Branch = jp.branch(d, what)
	case StepSplit:
		s.Split = jp.split(d, what)
	case StepUpdate:
		s.Update = jp.update(d.body, what)
	case StepExit:
		s.Exit = &ExitStep{Reason: jp.exitReason(d.body, what)}
	}
	if s.Kind == StepSend || s.Kind == StepWait || s.Kind == StepUpdate {
		s.Next = jp.successor(d, nil, "")
	}
}

// noNext says why a step kind takes no next:.
var noNext = map[StepKind]string{
	StepBranch: "a branch names the step after each case (next, else); remove next",
	StepSplit:  "a split names the step after each arm (next); remove next",
	StepExit:   "an exit step ends the journey; remove next",
}

// successor reads a step reference n; without one the step goes on to
// its next:, else to the step written after it ("" after the last: the
// journey is completed).
func (jp *journeyParser) successor(d *stepDraft, n *yaml.Node, what string) string {
	if n == nil {
		if d.after != "" {
			jp.refs[d.step] = append(jp.refs[d.step], ref{to: d.after, node: d.next})
		}
		return d.after
	}
	id := jp.stepRef(n, what)
	if id != "" {
		jp.refs[d.step] = append(jp.refs[d.step], ref{to: id, node: n})
	}
	return id
}

// stepRef reads the id of an existing step, suggesting the closest when
// there is none.
func (jp *journeyParser) stepRef(n *yaml.Node, what string) string {
	s, ok := jp.str(n, what)
	if !ok {
		return ""
	}
	if jp.j.byID[s] != nil {
		return s
	}
	jp.errorf(n, "%s: unknown step %q%s (steps: %s)", what, s, didYouMean(s, jp.ids), strings.Join(jp.ids, ", "))
	return ""
}

// send parses a send step as a one-message campaign: the journey's
// settings with the step's own channels, recipient, offer, variants and
// messages, checked as a campaign's are.
func (jp *journeyParser) send(n *yaml.Node, what string) *SendStep {
	msg := *jp.c
	msg.Journey, msg.Channels, msg.Recipient, msg.Offer, msg.Variants, msg.messages = nil, nil, Recipient{}, nil, nil, nil
	msg.Survey = nil
	msg.journeyStep = true
	f, ok := jp.mapping(n, what, sendKeys)
	if !ok {
		return &SendStep{Message: &msg}
	}
	if f.get("channels") == nil {
		jp.errorf(n, "%s needs channels, e.g. channels: [email]", what)
	}
	if f.get("messages") == nil {
		jp.errorf(n, "%s needs messages, e.g. messages: {email: {subject: ..., text: ...}}", what)
	}
	jp.channels(f.get("channels"), &msg)
	jp.recipient(f.get("recipient"), &msg)
	jp.webhookNeedsTeam(f.get("channels"), &msg)
	jp.offer(f.get("offer"), &msg)
	jp.survey(f.get("survey"), &msg)
	jp.campaignMessages(f, &msg, true)
	return &SendStep{Message: &msg}
}

// wait parses `3d`, `{duration: 7d, until: "10:00"}` or
// `{until: {weekday: MON, at: "09:00"}}`.
func (jp *journeyParser) wait(n *yaml.Node, what string) *WaitStep {
	w := &WaitStep{}
	if r := resolve(n); r.Kind == yaml.ScalarNode {
		w.Duration = jp.positiveDuration(r, what)
		return w
	}
	f, ok := jp.mapping(n, what, []string{"duration", "until"})
	if !ok {
		return w
	}
	dn, un := f.get("duration"), f.get("until")
	if dn == nil && un == nil {
		jp.errorf(n, `%s needs duration or until, e.g. wait: 3d or wait: {duration: 7d, until: "10:00"}`, what)
	}
	if dn != nil {
		w.Duration = jp.positiveDuration(dn, what+".duration")
	}
	if un != nil {
		w.Until = jp.until(un, what+".until")
	}
	return w
}

// positiveDuration reads a duration that must be above 0.
func (jp *journeyParser) positiveDuration(n *yaml.Node, what string) time.Duration {
	before := len(jp.problems)
	d := jp.duration(n, what)
	if len(jp.problems) == before && d <= 0 {
		jp.errorf(n, "%s must be above 0, e.g. 3d", what)
	}
	return d
}

// until reads "10:00" (any day) or {weekday: MON, at: "09:00"}.
func (jp *journeyParser) until(n *yaml.Node, what string) *WaitUntil {
	if r := resolve(n); r.Kind == yaml.ScalarNode {
		return &WaitUntil{At: jp.clock(r, what)}
	}
	f, ok := jp.mapping(n, what, []string{"weekday", "at"})
	if !ok {
		return nil
	}
	u := &WaitUntil{At: jp.at(f, what)}
	wn := f.get("weekday")
	if wn == nil {
		jp.errorf(n, `%s needs weekday, e.g. {weekday: MON, at: "09:00"}; for any day write until: "09:00"`, what)
		return u
	}
	if s, ok := jp.str(wn, what+".weekday"); ok {
		day, found := weekday(s)
		if !found {
			jp.errorf(wn, "%s.weekday must be one of %s, not %q%s", what, strings.Join(weekdayNames[:], ", "), s,
				didYouMean(strings.ToUpper(s), weekdayNames[:]))
		}
		u.Weekday = &day
	}
	return u
}

// clock reads a local time of day HH:MM.
func (jp *journeyParser) clock(n *yaml.Node, what string) ClockTime {
	s, ok := jp.str(n, what)
	if !ok {
		return ClockTime{}
	}
	t, err := ParseClock(s)
	if err != nil {
		jp.errorf(n, "%s: %v", what, err)
	}
	return t
}

// weekday reads MON or Monday, in any case.
func weekday(s string) (time.Weekday, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	for d, name := range weekdayNames {
		if u == name || u == strings.ToUpper(time.Weekday(d).String()) {
			return time.Weekday(d), true
		}
	}
	return 0, false
}

// waitFor parses {event, where, timeout, on_event, on_timeout}; an outcome
// without a step goes to the step's next:, else to the step written after.
func (jp *journeyParser) waitFor(d *stepDraft, what string) *WaitForStep {
	w := &WaitForStep{}
	f, ok := jp.mapping(d.body, what, []string{"event", "where", "timeout", "on_event", "on_timeout"})
	if !ok {
		return w
	}
	if en := f.get("event"); en != nil {
		w.Event, _ = jp.eventType(en, what+".event")
		w.Event = trackedEvent(w.Event)
	} else {
		jp.errorf(d.body, "%s needs event, e.g. event: purchase", what)
	}
	if wn := f.get("where"); wn != nil {
		w.Where = jp.rule(wn, what+".where")
	}
	if tn := f.get("timeout"); tn != nil {
		w.Timeout = jp.positiveDuration(tn, what+".timeout")
	} else {
		jp.errorf(d.body, "%s needs timeout: how long to wait for the event, e.g. timeout: 1h", what)
	}
	w.OnEvent = jp.successor(d, f.get("on_event"), what+".on_event")
	w.OnTimeout = jp.successor(d, f.get("on_timeout"), what+".on_timeout")
	return w
}

// branch parses a list of {if: RULE, next: STEP} ending with {else: STEP}.
func (jp *journeyParser) branch(d *stepDraft, what string) *BranchStep {
	b := &BranchStep{}
	items := jp.list(d.body, what)
	elseSeen := false
	for i, item := range items {
		f, ok := jp.mapping(item, what+" case", []string{"if", "next", "else"})
		if !ok {
			continue
		}
		if en := f.get("else"); en != nil {
			switch {
			case f.get("if") != nil || f.get("next") != nil:
				jp.errorf(item, "%s: a case has if and next, or else alone", what)
			case i != len(items)-1:
				jp.errorf(f.key["else"], "%s: else must be the last case (the cases after it would never be checked)", what)
			}
			b.Else, elseSeen = jp.successor(d, en, what+".else"), true
			continue
		}
		c := BranchCase{}
		if in := f.get("if"); in != nil {
			c.If = jp.ruleWith(in, what+".if", rules.Options{Journey: true, SendSteps: jp.sendIDs})
		} else {
			jp.errorf(item, "%s: a case needs if: RULE (or else: STEP, last)", what)
		}
		if nn := f.get("next"); nn != nil {
			c.Next = jp.successor(d, nn, what+".next")
		} else {
			jp.errorf(item, "%s: a case needs next: the step to go to when its rule holds", what)
		}
		b.Cases = append(b.Cases, c)
	}
	switch {
	case len(items) == 0:
		jp.errorf(d.body, "%s must list cases, e.g. - {if: \"journey.purchases > 0\", next: thank-you} then - {else: reminder}", what)
	case len(b.Cases) == 0:
		jp.errorf(d.body, "%s needs at least one {if: RULE, next: STEP} before else", what)
	case !elseSeen:
		jp.errorf(d.body, "%s needs a last case {else: STEP}: where customers go when no rule holds", what)
	}
	return b
}

// split parses a list of {arm, weight, next}.
func (jp *journeyParser) split(d *stepDraft, what string) *SplitStep {
	s := &SplitStep{}
	for _, item := range jp.list(d.body, what) {
		f, ok := jp.mapping(item, what+" arm", []string{"arm", "weight", "next"})
		if !ok {
			continue
		}
		a := SplitArm{Weight: 1}
		if an := f.get("arm"); an != nil {
			a.ID = jp.armID(an, what, s.Arms)
		} else {
			jp.errorf(item, "%s: an arm needs arm: ID (a slug naming it in reports)", what)
		}
		if wn := f.get("weight"); wn != nil {
			if x, ok := jp.positive(wn, what+".weight"); ok {
				a.Weight = x
			}
		}
		if nn := f.get("next"); nn != nil {
			a.Next = jp.successor(d, nn, what+".next")
		} else {
			jp.errorf(item, "%s: arm %q needs next: the step its customers go to", what, a.ID)
		}
		s.Arms = append(s.Arms, a)
	}
	if len(s.Arms) < 2 {
		jp.errorf(d.body, "%s needs at least two arms, e.g. - {arm: a, weight: 1, next: email-first} and - {arm: b, weight: 1, next: sms-first}", what)
	}
	return s
}

// armID reads an arm's id: a slug, unique in the split, not a report row.
func (jp *journeyParser) armID(n *yaml.Node, what string, arms []SplitArm) string {
	s, ok := jp.str(n, what+".arm")
	switch {
	case !ok:
	case !isSlug(s):
		jp.errorf(n, "%s: arm %q must be a slug (lower-case letters, digits, '-', '_')", what, s)
	case slices.ContainsFunc(arms, func(a SplitArm) bool { return a.ID == s }):
		jp.errorf(n, "%s: arm %q is used twice", what, s)
	case slices.Contains(reservedArms, s):
		jp.errorf(n, "%s: arm %q is reserved for the campaign report; choose another name", what, s)
	}
	return s
}

// update parses {tag, untag, attributes}.
func (jp *journeyParser) update(n *yaml.Node, what string) *UpdateStep {
	u := &UpdateStep{}
	f, ok := jp.mapping(n, what, []string{"tag", "untag", "attributes"})
	if !ok {
		return u
	}
	if len(f.val) == 0 && len(f.node.Content) == 0 {
		jp.errorf(n, "%s needs tag, untag or attributes, e.g. update: {tag: vip}", what)
	}
	u.Tag = jp.tags(f.get("tag"), what+".tag")
	u.Untag = jp.tags(f.get("untag"), what+".untag")
	if an := f.get("attributes"); an != nil {
		af, ok := jp.mapping(an, what+".attributes", nil)
		if ok {
			u.Attributes = map[string]any{}
		}
		for k, v := range af.val {
			if !isIdent(k) {
				jp.errorf(af.key[k], "%s: attribute name %q must be a simple name (letters, digits, _), as attr(%q) and .attributes.%s read it", what, k, k, k)
				continue
			}
			var x any
			if v.Kind != yaml.ScalarNode || v.Decode(&x) != nil {
				jp.errorf(v, "%s.%s must be text, a number, true or false (or null to remove it), not %s", what+".attributes", k, describe(v))
				continue
			}
			u.Attributes[k] = x
		}
	}
	return u
}

// tags reads one tag or a list of them.
func (jp *journeyParser) tags(n *yaml.Node, what string) []string {
	var out []string
	for _, item := range jp.list(n, what) {
		s, ok := jp.str(item, what)
		if !ok {
			continue
		}
		if strings.TrimSpace(s) == "" {
			jp.errorf(item, "%s: a tag cannot be empty", what)
			continue
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

// exitReason reads an exit step's reason, a slug.
func (jp *journeyParser) exitReason(n *yaml.Node, what string) string {
	s, ok := jp.str(n, what)
	if !ok {
		return ""
	}
	if !isSlug(s) {
		jp.errorf(n, "%s: reason %q must be a slug (lower-case letters, digits, '-', '_'), e.g. exit: no-response", what, s)
	}
	return s
}
