package campaigns

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// SMS quiet hours, in the customer's local time: no SMS from
// QuietStartHour:00 until QuietEndHour:00. A message due inside them waits
// for QuietEndHour:00.
const (
	QuietStartHour = 21
	QuietEndHour   = 8
)

// InQuietHours reports whether a local hour of day is inside SMS quiet hours.
func InQuietHours(hour int) bool { return hour >= QuietStartHour || hour < QuietEndHour }

// quietWindow is how warnings name the window.
var quietWindow = fmt.Sprintf("SMS quiet hours (%02d:00-%02d:00 in the customer's zone)", QuietStartHour, QuietEndHour)

// quietHours warns when a campaign that may send SMS to customers has its
// send time (a daily trigger's at, a cron schedule's time) inside quiet
// hours: every such SMS waits until the morning, and its late policy may
// expire it. The warning says what will happen and what to write instead.
func (p *parser) quietHours(c *Campaign) {
	if p.sendTime == nil || !c.Recipient.IsCustomer() || !slices.Contains(c.Channels, SMS) {
		return
	}
	t := c.Trigger
	switch {
	case t.Schedule != nil && t.Schedule.spec != nil:
		p.quietCron(c, t.Schedule)
	case t.Kind == TriggerBirthday || t.Kind == TriggerInactivity || t.Kind == TriggerChurnRisk:
		at := sendClock(t)
		if !InQuietHours(at.Hour) {
			return
		}
		suggest := fmt.Sprintf("%02d:00", QuietEndHour)
		if at.Hour >= QuietStartHour {
			suggest = fmt.Sprintf("%02d:00", QuietStartHour-1)
		}
		p.warnf(p.sendTime, "trigger.%s.at %q is in %s: %s; write a time from %02d:00 to %02d:59, e.g. at: %q",
			t.Kind, at.String(), quietWindow, quietOutcome(c.Late, at), QuietEndHour, QuietStartHour-1, suggest)
	}
}

// quietCron warns about the firing times of a cron schedule that fall in
// quiet hours, in the schedule's zone.
func (p *parser) quietCron(c *Campaign, s *ScheduleTrigger) {
	spec := s.spec
	minute := bits.TrailingZeros64(spec.Minute)
	var quiet []ClockTime
	for _, h := range quietOrder() {
		if spec.Hour&(1<<uint(h)) != 0 {
			quiet = append(quiet, ClockTime{Hour: h, Minute: minute})
		}
	}
	if len(quiet) == 0 {
		return
	}
	names := make([]string, len(quiet))
	for i, q := range quiet {
		names[i] = q.String()
	}
	fix := fmt.Sprintf("keep its hour field within %d-%d", QuietEndHour, QuietStartHour-1)
	if len(quiet) == 1 {
		fix = fmt.Sprintf("e.g. cron: %q", cronAtHour(s.Cron, suggestHour(quiet[0].Hour)))
	}
	// The first in evening order waits longest: its outcome is the worst.
	p.warnf(p.sendTime, "trigger.schedule.cron %q fires at %s (%s), in %s: for customers in that zone %s; fire from %02d:00 to %02d:59 instead, %s",
		s.Cron, strings.Join(names, ", "), s.TimeZone, quietWindow, quietOutcome(c.Late, quiet[0]),
		QuietEndHour, QuietStartHour-1, fix)
}

// quietOrder lists the quiet hours from the evening on: 21, 22, 23, 0 ... 7.
func quietOrder() []int {
	var out []int
	for h := QuietStartHour; h < QuietStartHour+24; h++ {
		if InQuietHours(h % 24) {
			out = append(out, h%24)
		}
	}
	return out
}

func suggestHour(h int) int {
	if h >= QuietStartHour {
		return QuietStartHour - 1
	}
	return QuietEndHour
}

// quietOutcome says what becomes of an SMS planned at at: when it goes out,
// and whether its late policy lets it (worked out on a day without DST).
func quietOutcome(l Late, at ClockTime) string {
	planned := time.Date(2001, 1, 1, at.Hour, at.Minute, 0, 0, time.UTC)
	day, when := 0, "the same day"
	if at.Hour >= QuietStartHour {
		day, when = 1, "the next day"
	}
	sent := time.Date(2001, 1, 1+day, QuietEndHour, 0, 0, 0, time.UTC)
	late := fmt.Sprintf("at %02d:00 %s, %s late", QuietEndHour, when, FormatDuration(sent.Sub(planned)))
	if exp := l.ExpiresAt(planned, time.UTC); !exp.IsZero() && sent.After(exp) {
		return "each SMS would go out " + late + ", past its deadline (late policy: " + l.String() + "), so it expires unsent"
	}
	return "each SMS goes out " + late + " (late policy: " + l.String() + ")"
}

// cronAtHour returns the five-field cron spec with its hour set to h (a
// descriptor such as @daily is written out first).
func cronAtHour(spec string, h int) string {
	f := strings.Fields(spec)
	if len(f) == 1 {
		f = strings.Fields(map[string]string{"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
			"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *"}[spec])
	}
	if len(f) != 5 {
		return fmt.Sprintf("0 %d * * *", h)
	}
	f[1] = fmt.Sprint(h)
	return strings.Join(f, " ")
}

// sendClock is the local time of day of a daily trigger.
func sendClock(t Trigger) ClockTime {
	switch {
	case t.Birthday != nil:
		return t.Birthday.At
	case t.Inactivity != nil:
		return t.Inactivity.At
	case t.ChurnRisk != nil:
		return t.ChurnRisk.At
	}
	return DefaultAt
}
