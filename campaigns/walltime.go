package campaigns

import "time"

// WallTime returns the instant at which the clocks of loc show the wall time
// year-month-day hour:minute. It is the one time rule every local time of a
// campaign follows: cron schedules in their time_zone and the `at` of
// birthday, inactivity and churn-risk triggers in the customer's zone.
//
//   - A wall time that occurs once is that instant.
//   - A wall time that occurs twice (the hour repeated when clocks go back)
//     is its first instant: 01:30 on 2026-11-01 in New York is 01:30 EDT.
//   - A wall time that does not exist (skipped when clocks go forward) is
//     the first instant after the gap: 02:30 on 2027-03-14 in New York is
//     03:00 EDT; 02:15 on 2026-10-04 in Lord Howe (02:00 -> 02:30) is 02:30.
//
// time.Date leaves the last two cases unspecified (and in fact differs by
// zone: today it gives 01:30 EST for New York's missing 02:30 and 02:45 for
// Lord Howe's 02:15), so the rule is implemented here from the zone's
// transitions. Month, day, hour and minute out of range are normalised as by
// time.Date (day 32 is the 1st of the next month).
func WallTime(year int, month time.Month, day, hour, minute int, loc *time.Location) time.Time {
	wall := time.Date(year, month, day, hour, minute, 0, 0, time.UTC) // the clock reading, as arithmetic
	// Offsets lie within [-12h, +14h]: every instant showing wall, and every
	// transition it may fall into, lies in [wall-14h, wall+12h].
	from, to := wall.Add(-15*time.Hour), wall.Add(13*time.Hour)
	var gapEnd time.Time
	for at := from; at.Before(to); {
		local := at.In(loc)
		_, off := local.Zone()
		start, end := local.ZoneBounds()
		u := wall.Add(-time.Duration(off) * time.Second)
		if !u.Before(start) && (end.IsZero() || u.Before(end)) {
			return u.In(loc) // the first period showing wall: its earliest instant
		}
		if gapEnd.IsZero() && !start.IsZero() && u.Before(start) {
			// wall is before this period's first reading yet was not shown by
			// any earlier period: clocks jumped over it at start.
			gapEnd = start
		}
		if end.IsZero() {
			break
		}
		at = end
	}
	if !gapEnd.IsZero() {
		return gapEnd.In(loc)
	}
	return time.Date(year, month, day, hour, minute, 0, 0, loc) // unreachable for real zones
}
