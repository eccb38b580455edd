// Package triggers decides when a campaign fires and, within a firing, which
// customers it is due for: cron schedules in the campaign's zone, birthdays at a
// local time in each customer's own zone, inactivity relative to the customer's
// own rhythm, churn risk, and purchase events.
package triggers

import (
	"sync"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
)

// Due reports whether campaign c is due for the customer in env at env.Now,
// leaving the audience rule aside (the caller evaluates it). For a birthday it
// also says which year's greeting is due, which is the occurrence key.
//
//   - birthday: the customer's local date is their birthday (29 February is
//     greeted on 28 February in non-leap years) and the local time is at or past
//     the trigger's time; customers without a birthday never match.
//   - inactivity: the trigger's own condition (days, and the customer's gap).
//   - churn_risk: the trigger's rule.
//   - schedule and event: always (the firing itself is the condition).
func Due(c *campaigns.Campaign, env *rules.Env, defaultLoc *time.Location) (bool, error) {
	t := c.Trigger
	switch t.Kind {
	case campaigns.TriggerBirthday:
		return BirthdayDue(env.Birthday, Location(env.TimeZone, defaultLoc), env.Now, t.Birthday.At), nil
	case campaigns.TriggerInactivity:
		return t.Inactivity.Matches(env), nil
	case campaigns.TriggerChurnRisk:
		return t.ChurnRisk.Rule.Eval(env)
	}
	return true, nil
}

// BirthdayDue reports whether a customer born on birthday (a date; its year is
// ignored) is due a greeting at now, in their zone loc, at local time at.
func BirthdayDue(birthday time.Time, loc *time.Location, now time.Time, at campaigns.ClockTime) bool {
	if birthday.IsZero() {
		return false
	}
	local := now.In(loc)
	month, day := birthday.Month(), birthday.Day()
	if month == time.February && day == 29 && !isLeap(local.Year()) {
		day = 28
	}
	if local.Month() != month || local.Day() != day {
		return false
	}
	return local.Hour()*60+local.Minute() >= at.Hour*60+at.Minute
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var zones sync.Map // name -> *time.Location

// Location resolves an IANA zone name, falling back to def for an empty or
// unknown name. Results are cached: time.LoadLocation reads the zone database.
func Location(name string, def *time.Location) *time.Location {
	if name == "" {
		return def
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return def
	}
	zones.Store(name, loc)
	return loc
}
