package campaigns_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
)

// transition is one DST change, as the zone database states it: at the
// instant At clocks go from offset Before to offset After (hours).
type transition struct {
	zone          string
	at            time.Time
	before, after float64
}

// transitions cover 1-hour and 30-minute shifts, both directions, both
// hemispheres, and a change at midnight (Santiago: the skipped hour is the
// first of the day, the repeated one the last of the day before).
var transitions = []transition{
	{"America/New_York", utc(2027, 3, 14, 7, 0), -5, -4},
	{"America/New_York", utc(2026, 11, 1, 6, 0), -4, -5},
	{"Europe/Berlin", utc(2027, 3, 28, 1, 0), 1, 2},
	{"Europe/Berlin", utc(2026, 10, 25, 1, 0), 2, 1},
	{"Australia/Sydney", utc(2026, 10, 3, 16, 0), 10, 11},
	{"Australia/Sydney", utc(2027, 4, 3, 16, 0), 11, 10},
	{"America/Santiago", utc(2026, 9, 6, 4, 0), -4, -3},
	{"America/Santiago", utc(2027, 4, 4, 3, 0), -3, -4},
	{"Australia/Lord_Howe", utc(2026, 10, 3, 15, 30), 10.5, 11},
	{"Australia/Lord_Howe", utc(2027, 4, 3, 15, 0), 11, 10.5},
}

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func hours(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }

func (tr transition) String() string {
	return fmt.Sprintf("%s %s (%+g -> %+g)", tr.zone, tr.at.Format(time.DateOnly), tr.before, tr.after)
}

// load returns the zone, failing when the zone database disagrees with the
// table (a tzdata update moved the change).
func (tr transition) load(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(tr.zone)
	if err != nil {
		t.Fatal(err)
	}
	_, before := tr.at.Add(-time.Second).In(loc).Zone()
	_, after := tr.at.In(loc).Zone()
	if time.Duration(before)*time.Second != hours(tr.before) || time.Duration(after)*time.Second != hours(tr.after) {
		t.Fatalf("%s: the zone database says %ds -> %ds; update the table", tr, before, after)
	}
	return loc
}

// walls returns every wall-clock minute from an hour before the change's
// earliest reading to an hour after its latest, as clock fields in UTC.
func (tr transition) walls() []time.Time {
	a, b := tr.at.Add(hours(tr.before)), tr.at.Add(hours(tr.after))
	if b.Before(a) {
		a, b = b, a
	}
	var out []time.Time
	for w := a.Add(-time.Hour); w.Before(b.Add(time.Hour)); w = w.Add(time.Minute) {
		out = append(out, w)
	}
	return out
}

// want is the rule, stated from the offsets alone: a reading before the
// change's last old reading is in the old offset (for a repeated time, its
// first instant); a reading skipped by the gap is the change itself; the rest
// are in the new offset.
func (tr transition) want(w time.Time) time.Time {
	switch {
	case w.Before(tr.at.Add(hours(tr.before))):
		return w.Add(-hours(tr.before))
	case w.Before(tr.at.Add(hours(tr.after))):
		return tr.at
	}
	return w.Add(-hours(tr.after))
}

func wallTime(w time.Time, loc *time.Location) time.Time {
	return campaigns.WallTime(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), loc)
}

func TestWallTimeOfEveryMinuteAroundDSTChangesFollowsOneRule(t *testing.T) {
	t.Parallel()
	for _, tr := range transitions {
		loc := tr.load(t)
		for _, w := range tr.walls() {
			got := wallTime(w, loc)
			if want := tr.want(w); !got.Equal(want) {
				t.Errorf("%s: %s is %s, want %s", tr, w.Format("15:04"), got.UTC().Format(time.RFC3339), want.Format(time.RFC3339))
			}
			if got.Location() != loc {
				t.Errorf("%s: %s returned in %v, want the zone itself", tr, w.Format("15:04"), got.Location())
			}
		}
	}
}

// TestWallTimeResolvesTheIssuesExamples: the cases issue 13 names, where
// time.Date answered differently by zone (01:30 EST in New York, an hour
// early; 02:45 in Lord Howe; the second 01:45 in Lord Howe).
func TestWallTimeResolvesTheIssuesExamples(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		zone  string
		wall  time.Time
		want  string
		cause string
	}{
		{"America/New_York", utc(2027, 3, 14, 2, 30), "2027-03-14T03:00:00-04:00", "skipped: first instant after the gap"},
		{"Australia/Lord_Howe", utc(2026, 10, 4, 2, 15), "2026-10-04T02:30:00+11:00", "skipped by a 30-minute gap"},
		{"America/New_York", utc(2026, 11, 1, 1, 30), "2026-11-01T01:30:00-04:00", "repeated: the first, EDT"},
		{"Australia/Lord_Howe", utc(2027, 4, 4, 1, 45), "2027-04-04T01:45:00+11:00", "repeated: the first, +11"},
		{"Asia/Kathmandu", utc(2026, 2, 29, 10, 0), "2026-03-01T10:00:00+05:45", "normalised like time.Date"},
		{"UTC", utc(2026, 3, 29, 2, 30), "2026-03-29T02:30:00Z", "no change"},
	} {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := wallTime(c.wall, loc).Format(time.RFC3339); got != c.want {
			t.Errorf("%s %s (%s) = %s, want %s", c.zone, c.wall.Format("2006-01-02 15:04"), c.cause, got, c.want)
		}
	}
}
