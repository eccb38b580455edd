package campaigns_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
)

func schedule(t *testing.T, expr, zone string) *campaigns.ScheduleTrigger {
	t.Helper()
	s, err := campaigns.ParseSchedule(expr, zone)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEachWallTimeAroundDSTChangesFiresOnceAtItsInstant schedules every
// minute of the hours around each change as its own yearly cron (`M H D Mo *`)
// and checks it fires once, at the rule's instant, keyed by its wall time.
func TestEachWallTimeAroundDSTChangesFiresOnceAtItsInstant(t *testing.T) {
	t.Parallel()
	for _, tr := range transitions {
		tr.load(t)
		for _, w := range tr.walls() {
			s := schedule(t, fmt.Sprintf("%d %d %d %d *", w.Minute(), w.Hour(), w.Day(), w.Month()), tr.zone)
			name := fmt.Sprintf("%s: %q", tr, s.Cron)
			f, ok := s.NextFiring(tr.at.Add(-48 * time.Hour))
			want := tr.want(w)
			if !ok || !f.At.Equal(want) || !f.Wall.Equal(w) {
				t.Errorf("%s fires %s at %s (found %v), want %s at %s", name, f.Wall, f.At.UTC(), ok, w, want)
				continue
			}
			if key := w.Format("2006-01-02T15:04") + " " + tr.zone; f.Key() != key {
				t.Errorf("%s: key %q, want %q", name, f.Key(), key)
			}
			if again, _ := s.NextFiring(f.At); again.Wall.Year() != w.Year()+1 {
				t.Errorf("%s fires again at %s (%s), want next year", name, again.At.UTC(), again.Key())
			}
			if got := s.Next(want.Add(-time.Nanosecond)); !got.Equal(want) {
				t.Errorf("%s: Next just before = %s, want %s", name, got.UTC(), want)
			}
			if l, ok := s.Latest(want, time.Hour); !ok || l.Key() != f.Key() {
				t.Errorf("%s: Latest at its instant = %v %q", name, ok, l.Key())
			}
			if _, ok := s.Latest(want.Add(-time.Nanosecond), time.Hour); ok {
				t.Errorf("%s: Latest just before its instant found a firing", name)
			}
		}
	}
}

// TestEveryMinuteScheduleThroughDSTChanges walks `* * * * *` across each
// change two ways: Next from instant to instant (each instant once, repeated
// minutes at their first instant, the skipped ones sharing the gap's end,
// named by the earliest of them) and a scheduler's view ticking every real
// minute (each key once; of the skipped minutes sharing one instant, the
// latest, the first wall time after the gap, stands for them).
func TestEveryMinuteScheduleThroughDSTChanges(t *testing.T) {
	t.Parallel()
	for _, tr := range transitions {
		tr.load(t)
		s := schedule(t, "* * * * *", tr.zone)
		walls := tr.walls()
		from, last := tr.want(walls[0]).Add(-time.Minute), tr.want(walls[len(walls)-1])
		first := map[int64]time.Time{} // instant -> earliest wall firing then
		var want []string
		for _, w := range walls {
			if _, ok := first[tr.want(w).Unix()]; !ok {
				first[tr.want(w).Unix()] = w
				want = append(want, tr.want(w).UTC().Format(time.RFC3339))
			}
		}
		var got []string
		for f, ok := s.NextFiring(from); ok && !f.At.After(last); f, ok = s.NextFiring(f.At) {
			if w := first[f.At.Unix()]; !f.Wall.Equal(w) {
				t.Errorf("%s: the firing at %s is %s, want %s", tr, f.At.UTC(), f.Wall.Format("15:04"), w.Format("15:04"))
			}
			got = append(got, f.At.UTC().Format(time.RFC3339))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: fires at\n%v\nwant\n%v", tr, got, want)
		}
		// A scheduler: each tick runs the latest firing unless it already ran.
		ran := map[string]time.Time{}
		for now := tr.want(walls[0]); !now.After(last); now = now.Add(time.Minute) {
			if l, ok := s.Latest(now, time.Hour); ok {
				if _, done := ran[l.Key()]; !done {
					ran[l.Key()] = now
				}
			}
		}
		for _, w := range walls {
			key := w.Format("2006-01-02T15:04") + " " + tr.zone
			at, fired := ran[key]
			skipped := tr.want(w).Equal(tr.at) && !w.Equal(tr.at.Add(hours(tr.after)))
			switch {
			case skipped && fired:
				t.Errorf("%s: skipped %s ran at %s; the first wall time after the gap stands for it", tr, key, at.UTC())
			case !skipped && (!fired || !at.Equal(tr.want(w))):
				t.Errorf("%s: %s ran %v at %s, want at %s", tr, key, fired, at.UTC(), tr.want(w))
			}
		}
		if len(ran) != len(want) {
			t.Errorf("%s: %d runs for %d firing instants", tr, len(ran), len(want))
		}
	}
}

func TestScheduleKeysRoundTripAndUpgradeLegacyKeys(t *testing.T) {
	t.Parallel()
	s := schedule(t, "30 1 * * *", "America/New_York")
	f, _ := s.NextFiring(utc(2026, 11, 1, 0, 0))
	if f.Key() != "2026-11-01T01:30 America/New_York" || f.LegacyKey() != "2026-11-01T05:30Z" {
		t.Fatalf("keys %q %q", f.Key(), f.LegacyKey())
	}
	wall, zone, err := campaigns.ParseScheduleKey(f.Key())
	if err != nil || !wall.Equal(f.Wall) || zone != "America/New_York" {
		t.Fatalf("ParseScheduleKey = %s %q %v", wall, zone, err)
	}
	// The old scheduler's second 01:30 (EST) is the same occurrence today.
	for _, legacy := range []string{"2026-11-01T05:30Z", "2026-11-01T06:30Z"} {
		if got := s.UpgradeKey(legacy); got != f.Key() {
			t.Errorf("UpgradeKey(%q) = %q, want %q", legacy, got, f.Key())
		}
	}
	for _, other := range []string{f.Key(), "manual-2026-11-01T05:30:00Z", "demo-1"} {
		if got := s.UpgradeKey(other); got != other {
			t.Errorf("UpgradeKey(%q) = %q, want it unchanged", other, got)
		}
	}
	if _, _, err := campaigns.ParseScheduleKey("2026-11-01T05:30Z"); err == nil || !strings.Contains(err.Error(), "America/New_York") {
		t.Errorf("a legacy key parsed as a schedule key: %v", err)
	}
}

// TestCronDayFieldsMatchLikeCron pins the day-of-month / day-of-week rule
// read from robfig/cron's parsed bits: both restricted is either; one `*` is
// both.
func TestCronDayFieldsMatchLikeCron(t *testing.T) {
	t.Parallel()
	from := utc(2026, 11, 1, 0, 0) // a Sunday
	for _, c := range []struct {
		expr string
		want []string
	}{
		{"0 9 13 * FRI", []string{"2026-11-06", "2026-11-13", "2026-11-20"}}, // Fridays or the 13th
		{"0 9 * * FRI", []string{"2026-11-06", "2026-11-13", "2026-11-20"}},
		{"0 9 13 * *", []string{"2026-11-13", "2026-12-13", "2027-01-13"}},
		{"0 9 */10 * *", []string{"2026-11-01", "2026-11-11", "2026-11-21"}},
		{"@weekly", []string{"2026-11-08", "2026-11-15", "2026-11-22"}},
		{"0 0 29 2 *", []string{"2028-02-29", "2032-02-29", "2036-02-29"}},
	} {
		s := schedule(t, c.expr, "UTC")
		at := from
		var got []string
		for range c.want {
			at = s.Next(at)
			got = append(got, at.Format(time.DateOnly))
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%q fires %v, want %v", c.expr, got, c.want)
		}
	}
}

func TestCronThatNeverNamesAWallTimeIsRejected(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string]string{
		"@every 15m":                "@every counts elapsed time",
		"0 0 30 2 *":                "30 February",
		"TZ=Europe/Paris 0 9 * * *": "use time_zone",
		"61 * * * *":                "end of range (61) above maximum (59)",
	} {
		if _, err := campaigns.ParseSchedule(expr, "UTC"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSchedule(%q) = %v, want an error saying %q", expr, err, want)
		}
	}
	if _, err := campaigns.ParseSchedule("0 9 * * *", "Europe/Pariss"); err == nil || !strings.Contains(err.Error(), "IANA") {
		t.Errorf("a misspelt zone: %v", err)
	}
}
