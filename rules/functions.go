package rules

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const day = 24 * time.Hour

// NewEnv returns an Env whose function fields (days_since, age, in_local_hour,
// has_tag, attr, days_until, within_days) are closures over this same Env, so
// a worker fills one Env per customer and evaluates without allocating.
// defaultTZ is the zone for customers without a valid time_zone (nil means
// UTC). Now starts at the wall clock; set it to the run's clock (a fake clock
// in tests) before evaluating. An Env is not safe for concurrent use: use one
// per goroutine.
//
// Semantics:
//   - days_since(t): whole 24-hour periods from t to now (truncated toward
//     zero, so negative only for t more than a day in the future); -1 when t
//     is zero.
//   - days_until(t): whole 24-hour periods from now to t; -1 when t is zero.
//   - within_days(t, d): t is not zero and lies in [now - d days, now].
//   - age(): whole years from birthday to today's date in the customer's
//     zone; someone born on 29 February turns a year older on 1 March in
//     non-leap years. -1 when the birthday is unknown or in the future.
//   - in_local_hour(from, to): the customer's local hour h (0-23) satisfies
//     from <= h < to, or, when from > to (a window past midnight, e.g.
//     in_local_hour(22, 6)), h >= from || h < to. from == to is an empty
//     window.
//   - has_tag(tag): some tag equals tag, ignoring case.
//   - attr(name): the custom attribute, nil when absent.
func NewEnv(defaultTZ *time.Location) *Env {
	if defaultTZ == nil {
		defaultTZ = time.UTC
	}
	e := &Env{Now: time.Now(), NPS: -1, CSAT: -1} // a customer never surveyed
	z := &zoneMemo{def: defaultTZ}
	e.DaysSince = func(t time.Time) int {
		if t.IsZero() {
			return -1
		}
		return int(e.Now.Sub(t) / day)
	}
	e.DaysUntil = func(t time.Time) int {
		if t.IsZero() {
			return -1
		}
		return int(t.Sub(e.Now) / day)
	}
	e.Within = func(t time.Time, d int) bool {
		return !t.IsZero() && !t.After(e.Now) && e.Now.Sub(t) <= time.Duration(d)*day
	}
	e.Age = func() int { return age(e.Birthday, e.Now.In(z.location(e.TimeZone))) }
	e.InLocalHour = func(from, to int) bool {
		return inHour(e.Now.In(z.location(e.TimeZone)).Hour(), from, to)
	}
	e.HasTag = func(tag string) bool {
		for _, t := range e.Tags {
			if strings.EqualFold(t, tag) {
				return true
			}
		}
		return false
	}
	e.Attr = func(name string) any { return e.Attributes[name] }
	installHistory(e)
	installTopics(e)
	return e
}

// ClearCustomer zeroes every customer field of e (attributes, metrics,
// intelligence, the triggering event, the event history) so it can be
// filled for the next customer, keeping the functions installed by NewEnv
// and the clock Now.
// Tags and Attributes are dropped, not truncated, so slices or maps the caller
// handed in are never overwritten. It is a function rather than a method
// because Env must have no methods (expr would expose them to rules).
func ClearCustomer(e *Env) {
	keep := Env{
		Now:         e.Now,
		DaysSince:   e.DaysSince,
		Age:         e.Age,
		InLocalHour: e.InLocalHour,
		HasTag:      e.HasTag,
		Attr:        e.Attr,
		DaysUntil:   e.DaysUntil,
		Within:      e.Within,

		CountEvents:    e.CountEvents,
		LastEvent:      e.LastEvent,
		DaysSinceEvent: e.DaysSinceEvent,
		Subscribed:     e.Subscribed,
	}
	*e = keep
}

// age is the number of birthdays passed between birthday (a date, read in
// UTC) and the calendar date of today (already in the customer's zone).
func age(birthday, today time.Time) int {
	if birthday.IsZero() {
		return -1
	}
	by, bm, bd := birthday.UTC().Date()
	ty, tm, td := today.Date()
	years := ty - by
	if tm < bm || (tm == bm && td < bd) {
		years--
	}
	if years < 0 {
		return -1
	}
	return years
}

// inHour reports whether hour h is in [from, to), wrapping past midnight
// when from > to.
func inHour(h, from, to int) bool {
	if from <= to {
		return h >= from && h < to
	}
	return h >= from || h < to
}

// zoneMemo remembers the last zone looked up for an Env: consecutive
// customers often share a zone, so most lookups skip even the shared cache.
type zoneMemo struct {
	def  *time.Location
	name string
	loc  *time.Location
}

func (z *zoneMemo) location(name string) *time.Location {
	if name == "" {
		return z.def
	}
	if z.loc != nil && name == z.name {
		return z.loc
	}
	loc := loadLocation(name)
	if loc == nil {
		loc = z.def
	}
	z.name, z.loc = name, loc
	return loc
}

// zones caches time.LoadLocation by name (it reads the zone database on every
// call). Unknown names are cached as nil, up to maxBadZones of them, so
// garbage in customer data can neither slow evaluation nor grow the cache
// without bound.
var (
	zones     sync.Map // string -> *time.Location (nil for unknown)
	badZones  atomic.Int64
	zoneLoads atomic.Int64 // LoadLocation calls, for tests
)

const maxBadZones = 1024

func loadLocation(name string) *time.Location {
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location)
	}
	zoneLoads.Add(1)
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		// "Local" would make results depend on the server's zone.
		if badZones.Add(1) <= maxBadZones {
			zones.Store(name, (*time.Location)(nil))
		}
		return nil
	}
	zones.Store(name, loc)
	return loc
}
