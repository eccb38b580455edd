package campaigns

// Timing rules: within a firing, which customers a campaign is due for and
// when: birthdays at a local time in each customer's own zone, inactivity
// relative to the customer's own rhythm, churn risk; and SMS quiet hours.

import (
	"sync"
	"time"

	"github.com/tidings-crm/tidings/rules"
)

// Due reports whether campaign c is due for the customer in env at env.Now,
// leaving the audience rule aside (the caller evaluates it). For a birthday it
// also says which year's greeting is due, which is the occurrence key.
//
//   - birthday: the customer's local date is their birthday (29 February is
//     greeted on 28 February in non-leap years); customers without a birthday
//     never match. The time of day is applied by SendAt, not here, so a run
//     early in the customer's day schedules the greeting for the trigger's time.
//   - inactivity: the trigger's own condition (days, and the customer's gap).
//   - churn_risk: the trigger's rule.
//   - schedule and event: always (the firing itself is the condition).
func Due(c *Campaign, env *rules.Env, defaultLoc *time.Location) (bool, error) {
	t := c.Trigger
	switch t.Kind {
	case TriggerBirthday:
		return BirthdayDue(env.Birthday, birthdayLocation(env, defaultLoc), env.Now), nil
	case TriggerInactivity:
		return t.Inactivity.Matches(env), nil
	case TriggerChurnRisk:
		return t.ChurnRisk.Rule.Eval(env)
	}
	return true, nil
}

// BirthdayDue reports whether now, in the customer's zone loc, falls on the
// birthday of a customer born on birthday (a date; its year is ignored).
func BirthdayDue(birthday time.Time, loc *time.Location, now time.Time) bool {
	if birthday.IsZero() {
		return false
	}
	local := now.In(loc)
	month, day := birthday.Month(), birthday.Day()
	if month == time.February && day == 29 && !isLeap(local.Year()) {
		day = 28
	}
	return local.Month() == month && local.Day() == day
}

// SendAt returns when a message due at now should go out for a customer in
// zone loc: the trigger's local time of day (birthday, inactivity and churn
// risk triggers have one) when that is still ahead today, else now. On a DST
// day `at` follows the same rule as cron schedules (WallTime): a
// time skipped by the gap is the first instant after it, a repeated time is
// its first instant.
func SendAt(c *Campaign, now time.Time, loc *time.Location) time.Time {
	var at *ClockTime
	switch t := c.Trigger; t.Kind {
	case TriggerBirthday:
		at = &t.Birthday.At
	case TriggerInactivity:
		at = &t.Inactivity.At
	case TriggerChurnRisk:
		at = &t.ChurnRisk.At
	default:
		return now
	}
	local := now.In(loc)
	target := WallTime(local.Year(), local.Month(), local.Day(), at.Hour, at.Minute, loc)
	if target.After(now) {
		return target
	}
	return now
}

// Daily reports whether the campaign's trigger is evaluated per customer per
// local day (birthday, inactivity, churn risk) rather than per firing.
func Daily(c *Campaign) bool {
	switch c.Trigger.Kind {
	case TriggerBirthday, TriggerInactivity, TriggerChurnRisk:
		return true
	}
	return false
}

// QuietUntil returns the end of the default policy's SMS quiet hours
// (21:00 to 08:00 in the customer's zone) when t falls inside them, and
// the zero time otherwise. The engine applies the policy in force instead
// (Policy.Hold).
func QuietUntil(t time.Time, loc *time.Location) time.Time {
	until, _ := defaultPolicy().Hold(t, SMS, ClassPromotional, Contact{Loc: loc, ZoneKnown: true})
	return until
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var zones sync.Map // name -> *time.Location

// Location resolves an IANA zone name, falling back to def for an empty or
// unknown name. Results are cached, unknown names too: time.LoadLocation
// reads the zone database, and a misspelt zone repeats across customers.
func Location(name string, def *time.Location) *time.Location {
	if name == "" {
		return def
	}
	if l, ok := zones.Load(name); ok {
		if loc := l.(*time.Location); loc != nil {
			return loc
		}
		return def
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		zones.Store(name, (*time.Location)(nil))
		return def
	}
	zones.Store(name, loc)
	return loc
}
