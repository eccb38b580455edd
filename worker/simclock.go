package worker

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SimClock is a simulated clock for drills: it read Start at the wall time
// Anchor and runs Speed times faster than the wall clock. Processes given the
// same SimClock share one simulated timeline, so a day of cron ticks can be
// run by real schedulers in minutes.
type SimClock struct {
	Start  time.Time // simulated time at Anchor
	Anchor time.Time // wall time at which the simulated clock read Start
	Speed  float64   // simulated seconds per wall second (> 0)
}

// Now is the simulated time.
func (c SimClock) Now() time.Time {
	return c.Start.Add(time.Duration(float64(time.Since(c.Anchor)) * c.Speed)).UTC()
}

// String is the form ParseSimClock reads.
func (c SimClock) String() string {
	return c.Start.UTC().Format(time.RFC3339) + "," + c.Anchor.UTC().Format(time.RFC3339Nano) + "," +
		strconv.FormatFloat(c.Speed, 'f', -1, 64)
}

// ParseSimClock reads "START,ANCHOR,SPEED": the simulated RFC 3339 time the
// clock shows at the wall time ANCHOR (RFC 3339), and its speed, e.g.
// "2026-03-01T00:00:00Z,2026-12-02T07:00:00.5Z,720" (a day in two minutes).
func ParseSimClock(s string) (SimClock, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return SimClock{}, fmt.Errorf("simulated clock %q: want START,ANCHOR,SPEED (two RFC 3339 times and a number)", s)
	}
	start, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(parts[0]))
	if err != nil {
		return SimClock{}, fmt.Errorf("simulated clock: START: %w", err)
	}
	anchor, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(parts[1]))
	if err != nil {
		return SimClock{}, fmt.Errorf("simulated clock: ANCHOR: %w", err)
	}
	speed, err := strconv.ParseFloat(strings.TrimSpace(parts[2]), 64)
	if err != nil || speed <= 0 || speed > 1e6 {
		return SimClock{}, fmt.Errorf("simulated clock: SPEED %q: want a number above 0 (1 is real time)", parts[2])
	}
	return SimClock{Start: start, Anchor: anchor, Speed: speed}, nil
}
