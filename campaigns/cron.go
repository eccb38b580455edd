package campaigns

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// A cron schedule is matched here on the wall clock of its time_zone, minute
// by minute of the local calendar, and each matching wall time is mapped to an
// instant by WallTime. robfig/cron only parses: its own Next walks instants,
// which fires a wall time repeated by a DST fall-back twice and skips one
// inside a spring-forward gap.

// ScheduleKeyLayout is the layout of the wall-clock part of a schedule
// firing's occurrence key; the zone name follows after a space.
const ScheduleKeyLayout = "2006-01-02T15:04"

// LegacyScheduleKeyLayout is the occurrence key of a schedule firing before
// keys named the wall clock: the UTC instant. Runs recorded under it before an
// upgrade must still count as run.
const LegacyScheduleKeyLayout = "2006-01-02T15:04Z"

// Firing is one firing of a schedule: the wall-clock minute it is scheduled
// for in the campaign's zone, and the instant it fires (WallTime's rule).
type Firing struct {
	// Wall is the scheduled wall-clock time; only its clock fields mean
	// something (they read the campaign's zone; its location is UTC).
	Wall time.Time
	// At is the instant the firing is due.
	At time.Time
	// Zone is the campaign's IANA time_zone.
	Zone string
}

// Key is the firing's occurrence (run) key: its wall-clock time and zone, e.g.
// "2026-11-01T01:30 America/New_York". A wall time names one occurrence
// whichever instant it fires at, so a repeated hour, two schedulers, a
// restart or a clock jump cannot make two.
func (f Firing) Key() string { return f.Wall.Format(ScheduleKeyLayout) + " " + f.Zone }

// LegacyKey is the key the same firing had before keys named the wall clock.
func (f Firing) LegacyKey() string { return f.At.UTC().Format(LegacyScheduleKeyLayout) }

// ParseScheduleKey reads a schedule occurrence key back into its wall-clock
// time (clock fields only, location UTC) and zone name.
func ParseScheduleKey(key string) (wall time.Time, zone string, err error) {
	w, z, ok := strings.Cut(key, " ")
	if ok {
		wall, err = time.Parse(ScheduleKeyLayout, w)
	}
	if !ok || err != nil || z == "" {
		return time.Time{}, "", fmt.Errorf("occurrence key %q is not a schedule firing; want e.g. %q", key,
			"2026-11-01T01:30 America/New_York")
	}
	return wall, z, nil
}

// UpgradeKey returns the occurrence key a run key enqueued under the legacy
// UTC form (by a scheduler of an earlier version, before or during an
// upgrade) has today: the wall-clock time the trigger's zone showed at that
// instant. Any other key is returned as it is.
func (s *ScheduleTrigger) UpgradeKey(key string) string {
	at, err := time.Parse(LegacyScheduleKeyLayout, key)
	if err != nil {
		return key
	}
	return Firing{Wall: civil(at.In(s.Location)), Zone: s.TimeZone}.Key()
}

// Next returns the instant of the first firing strictly after t, in the
// trigger's zone, or the zero time when the schedule never fires.
func (s *ScheduleTrigger) Next(t time.Time) time.Time {
	f, ok := s.NextFiring(t)
	if !ok {
		return time.Time{}
	}
	return f.At
}

// NextFiring returns the first firing due strictly after t (several wall
// times skipped by one DST gap share an instant: this is the earliest).
func (s *ScheduleTrigger) NextFiring(t time.Time) (Firing, bool) {
	// A wall time up to t's own reading fires at or before t (WallTime is
	// monotonic), so the search starts after it; only the repeated hour of a
	// fall-back holds wall times after t's reading that fired before t.
	for w := civil(t.In(s.Location)); ; {
		var ok bool
		if w, ok = s.nextWall(w); !ok {
			return Firing{}, false
		}
		if at := s.instant(w); at.After(t) {
			return Firing{Wall: w, At: at, Zone: s.TimeZone}, true
		}
	}
}

// Latest returns the latest firing due in (now-window, now]. When several
// are due at one instant (wall times skipped by a DST gap), the latest wall
// time stands for them: one run, as for ticks missed while no scheduler ran.
func (s *ScheduleTrigger) Latest(now time.Time, window time.Duration) (Firing, bool) {
	from := now.Add(-window)
	var last Firing
	found := false
	for w := civil(from.In(s.Location)); ; {
		var ok bool
		if w, ok = s.nextWall(w); !ok {
			break
		}
		at := s.instant(w)
		if at.After(now) {
			break
		}
		if at.After(from) {
			last, found = Firing{Wall: w, At: at, Zone: s.TimeZone}, true
		}
	}
	return last, found
}

func (s *ScheduleTrigger) instant(w time.Time) time.Time {
	return WallTime(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), s.Location)
}

// civil returns the clock reading of t, to the minute, as a UTC time: wall
// clocks step by plain calendar arithmetic there.
func civil(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
}

// nextWall returns the first wall-clock minute after w that the schedule
// matches, searching five years ahead (30 February never comes).
func (s *ScheduleTrigger) nextWall(w time.Time) (time.Time, bool) {
	spec := s.spec
	w = w.Truncate(time.Minute).Add(time.Minute)
	for limit := w.AddDate(5, 0, 0); w.Before(limit); {
		switch {
		case 1<<uint(w.Month())&spec.Month == 0:
			w = time.Date(w.Year(), w.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !dayMatches(spec, w):
			w = time.Date(w.Year(), w.Month(), w.Day()+1, 0, 0, 0, 0, time.UTC)
		case 1<<uint(w.Hour())&spec.Hour == 0:
			w = w.Truncate(time.Hour).Add(time.Hour)
		case 1<<uint(w.Minute())&spec.Minute == 0:
			w = w.Add(time.Minute)
		default:
			return w, true
		}
	}
	return time.Time{}, false
}

// starBit is robfig/cron's mark of a `*` (or `?`) day field (spec.go).
const starBit = 1 << 63

// dayMatches is cron's day rule, as robfig/cron applies it: when both
// day-of-month and day-of-week are restricted, either may match; when one is
// `*`, both must.
func dayMatches(s *cron.SpecSchedule, w time.Time) bool {
	dom := 1<<uint(w.Day())&s.Dom > 0
	dow := 1<<uint(w.Weekday())&s.Dow > 0
	if s.Dom&starBit > 0 || s.Dow&starBit > 0 {
		return dom && dow
	}
	return dom || dow
}
