package campaigns

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// cronParser accepts standard five-field cron plus descriptors (@daily...).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// DefaultAt is the local time of day birthday, inactivity and churn-risk
// triggers fire at when `at` is not given.
var DefaultAt = ClockTime{Hour: 10}

var triggerKinds = []string{string(TriggerSchedule), string(TriggerBirthday), string(TriggerInactivity),
	string(TriggerChurnRisk), string(TriggerEvent), string(TriggerAPI)}

// String formats the time as HH:MM.
func (t ClockTime) String() string { return fmt.Sprintf("%02d:%02d", t.Hour, t.Minute) }

// ParseClock reads "HH:MM" (24-hour).
func ParseClock(s string) (ClockTime, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return ClockTime{}, fmt.Errorf("invalid time of day %q; write HH:MM, e.g. 09:00", s)
	}
	return ClockTime{Hour: t.Hour(), Minute: t.Minute()}, nil
}

func (p *parser) trigger(n *yaml.Node, c *Campaign) {
	if n == nil {
		return
	}
	f, ok := p.mapping(n, "trigger", triggerKinds)
	if !ok {
		return
	}
	var kinds []string
	for _, k := range triggerKinds {
		if f.get(k) != nil {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0 && len(f.node.Content) == 0:
		p.errorf(n, "trigger needs exactly one of: %s", strings.Join(triggerKinds, ", "))
		return
	case len(kinds) > 1:
		p.errorf(f.key[kinds[1]], "trigger has both %s and %s; a campaign has exactly one trigger", kinds[0], kinds[1])
		return
	case len(kinds) == 0:
		return // unknown key already reported
	}
	kind := TriggerKind(kinds[0])
	c.Trigger.Kind = kind
	v := f.get(kinds[0])
	where := "trigger." + kinds[0]
	switch kind {
	case TriggerSchedule:
		c.Trigger.Schedule = p.scheduleTrigger(v, where)
	case TriggerBirthday:
		if tf, ok := p.mapping(v, where, []string{"at"}); ok {
			c.Trigger.Birthday = &BirthdayTrigger{At: p.at(tf, where)}
		}
	case TriggerInactivity:
		c.Trigger.Inactivity = p.inactivityTrigger(v, where)
	case TriggerChurnRisk:
		if tf, ok := p.mapping(v, where, []string{"rule", "at"}); ok {
			t := &ChurnRiskTrigger{At: p.at(tf, where)}
			if r := tf.get("rule"); r != nil {
				t.Rule = p.rule(r, where+".rule")
			} else {
				p.errorf(v, "%s needs a rule, e.g. rule: \"p_alive < 0.3\"", where)
			}
			c.Trigger.ChurnRisk = t
		}
	case TriggerEvent:
		c.Trigger.Event = p.eventTrigger(v, where)
	case TriggerAPI:
		p.mapping(v, where, []string{}) // {}: the request says who and when
	}
}

func (p *parser) at(f fields, where string) ClockTime {
	n := f.get("at")
	if n == nil {
		return DefaultAt
	}
	s, ok := p.str(n, where+".at")
	if !ok {
		return DefaultAt
	}
	t, err := ParseClock(s)
	if err != nil {
		p.errorf(n, "%s.at: %v", where, err)
	}
	p.sendTime = n
	return t
}

func (p *parser) scheduleTrigger(n *yaml.Node, where string) *ScheduleTrigger {
	f, ok := p.mapping(n, where, []string{"cron", "time_zone"})
	if !ok {
		return nil
	}
	t := &ScheduleTrigger{TimeZone: "UTC", Location: time.UTC}
	if tz := f.get("time_zone"); tz != nil {
		if s, ok := p.str(tz, where+".time_zone"); ok {
			if loc, err := loadZone(s); err != nil {
				p.errorf(tz, "%s.time_zone: %v", where, err)
			} else {
				t.TimeZone, t.Location = s, loc
			}
		}
	}
	cn := f.get("cron")
	if cn == nil {
		p.errorf(n, `%s needs cron, e.g. cron: "0 10 * * MON"`, where)
		return t
	}
	if s, ok := p.str(cn, where+".cron"); ok {
		if spec, err := parseCron(s); err != nil {
			p.errorf(cn, "%s.cron: invalid cron expression %q: %s (five fields: minute hour day-of-month month day-of-week, or @daily, @weekly...)", where, s, err)
		} else {
			t.Cron, t.spec = s, spec
			p.sendTime = cn
		}
	}
	return t
}

// ParseSchedule returns the trigger a campaign file's
// `schedule: {cron: expr, time_zone: zone}` gives (tests, tools).
func ParseSchedule(expr, zone string) (*ScheduleTrigger, error) {
	loc, err := loadZone(zone)
	if err != nil {
		return nil, err
	}
	spec, err := parseCron(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid cron expression %q: %w", expr, err)
	}
	return &ScheduleTrigger{Cron: expr, TimeZone: zone, Location: loc, spec: spec}, nil
}

func loadZone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q; use an IANA name such as Europe/Paris", name)
	}
	return loc, nil
}

// parseCron reads a five-field expression or a descriptor; the schedule is
// matched on wall-clock times, so it must name some (not @every) and must
// come round (not 30 February).
func parseCron(s string) (*cron.SpecSchedule, error) {
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return nil, errors.New("use time_zone instead of a TZ= prefix")
	}
	sched, err := cronParser.Parse(s)
	if err != nil {
		return nil, err
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, errors.New("@every counts elapsed time, not wall-clock times; write the times, e.g. */15 * * * *")
	}
	probe := &ScheduleTrigger{spec: spec}
	if _, ok := probe.nextWall(time.Date(2000, 12, 31, 0, 0, 0, 0, time.UTC)); !ok {
		return nil, errors.New("no date matches it (a day the month never has, such as 30 February)")
	}
	return spec, nil
}

func (p *parser) inactivityTrigger(n *yaml.Node, where string) *InactivityTrigger {
	f, ok := p.mapping(n, where, []string{"days", "gap_multiplier", "at"})
	if !ok {
		return nil
	}
	t := &InactivityTrigger{At: p.at(f, where)}
	if d := f.get("days"); d != nil {
		if v, ok := p.integer(d, where+".days"); ok {
			if v < 1 {
				p.errorf(d, "%s.days must be at least 1, not %d", where, v)
			}
			t.Days = v
		}
	} else {
		p.errorf(n, "%s needs days, e.g. days: 90", where)
	}
	if g := f.get("gap_multiplier"); g != nil {
		if v, ok := p.positive(g, where+".gap_multiplier"); ok {
			t.GapMultiplier = v
		}
	}
	return t
}

func (p *parser) eventTrigger(n *yaml.Node, where string) *EventTrigger {
	f, ok := p.mapping(n, where, []string{"type", "where", "delay"})
	if !ok {
		return nil
	}
	t := &EventTrigger{}
	if tn := f.get("type"); tn != nil {
		t.Event, _ = p.eventType(tn, where+".type")
	} else {
		p.errorf(n, "%s needs type, e.g. type: purchase or type: cart_updated", where)
	}
	if wn := f.get("where"); wn != nil {
		t.Where = p.rule(wn, where+".where")
	}
	if d := f.get("delay"); d != nil {
		t.Delay = p.duration(d, where+".delay")
	}
	return t
}
