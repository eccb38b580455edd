package campaigns

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// mustPolicy parses a policy that must be valid.
func mustPolicy(t testing.TB, file string) *Policy {
	t.Helper()
	p, problems := LoadPolicy(file)
	if HasErrors(problems) || len(problems) > 0 {
		t.Fatalf("%s: %v", file, problems)
	}
	return p
}

// TestExamplePolicyIsTheDefault: examples/policy.yaml writes out the
// built-in default, value for value.
func TestExamplePolicyIsTheDefault(t *testing.T) {
	p := mustPolicy(t, "../examples/policy.yaml")
	p.File = ""
	if !reflect.DeepEqual(p, DefaultPolicy()) {
		t.Fatalf("examples/policy.yaml differs from DefaultPolicy:\n%+v\n%+v", p, DefaultPolicy())
	}
	mustPolicy(t, "../examples/policy-us.yaml")
}

// oldQuietUntil is the SMS quiet-hours rule as it was before the policy
// (21:00 to 08:00 local): the default policy must keep it exactly.
func oldQuietUntil(t time.Time, loc *time.Location) time.Time {
	local := t.In(loc)
	switch h := local.Hour(); {
	case h >= 21:
		next := local.AddDate(0, 0, 1)
		return time.Date(next.Year(), next.Month(), next.Day(), 8, 0, 0, 0, loc)
	case h < 8:
		return time.Date(local.Year(), local.Month(), local.Day(), 8, 0, 0, 0, loc)
	}
	return time.Time{}
}

// TestDefaultPolicyIsTheOldBehaviour: every 7 minutes over days around
// both DST changes in three zones, the default policy holds an SMS exactly
// as the old constants did, for a known or unknown zone and every class,
// and never holds an email; its caps are the old promotional ones plus the
// new transactional and alert limits.
func TestDefaultPolicyIsTheOldBehaviour(t *testing.T) {
	p := DefaultPolicy()
	for _, zone := range []string{"America/New_York", "Europe/Paris", "Asia/Tokyo"} {
		loc, _ := time.LoadLocation(zone)
		for _, day := range []time.Time{time.Date(2026, 3, 7, 0, 0, 0, 0, loc), time.Date(2026, 10, 24, 0, 0, 0, 0, loc),
			time.Date(2026, 11, 1, 0, 0, 0, 0, loc)} {
			for at := day; at.Before(day.AddDate(0, 0, 3)); at = at.Add(7 * time.Minute) {
				want := oldQuietUntil(at, loc)
				for _, cl := range []Class{ClassPromotional, ClassTransactional, ClassAlert} {
					for _, known := range []bool{true, false} {
						got, why := p.Hold(at, SMS, cl, Contact{Loc: loc, ZoneKnown: known, Place: PhonePlace("+13055550100")})
						if !got.Equal(want) || (why == HoldQuiet) != !want.IsZero() {
							t.Fatalf("%s %s %s known=%v: Hold = %v %v, want %v", zone, at, cl, known, got, why, want)
						}
					}
				}
				if got, why := p.Hold(at, Email, ClassPromotional, Contact{Loc: loc}); !got.IsZero() || why != HoldNone {
					t.Fatalf("email held at %s: %v", at, got)
				}
			}
		}
	}
	week, day := 7*24*time.Hour, 24*time.Hour
	for _, c := range []struct {
		ch   Channel
		cl   Class
		want Cap
	}{
		{Email, ClassPromotional, Cap{Max: 3, Per: week}}, {SMS, ClassPromotional, Cap{Max: 2, Per: week}},
		{Email, ClassTransactional, Cap{Max: 20, Per: day}}, {SMS, ClassTransactional, Cap{Max: 10, Per: day}},
		{Email, ClassAlert, Cap{Max: 10, Per: day}}, {SMS, ClassAlert, Cap{Max: 5, Per: day}},
	} {
		if got := p.Caps(c.ch, c.cl, Place{Country: "US", Region: "US-FL"}); !reflect.DeepEqual(got, []Cap{c.want}) {
			t.Errorf("default caps of %s %s = %v, want %v", c.ch, c.cl, got, c.want)
		}
	}
	if p.MaxPer() != week || p.ByPlace() {
		t.Errorf("MaxPer %v, ByPlace %v", p.MaxPer(), p.ByPlace())
	}
}

// TestFloridaRules applies examples/policy-us.yaml: a Florida number is
// held from 20:00 to 08:00 and capped at 3 promotional texts per 24 h on top
// of the shop's 6 per 7 days; a New York number keeps the default window;
// a customer whose zone is unknown gets the strictest window (Florida's
// evening start, the default's morning end); Christmas holds promotional
// messages, not transactional ones.
func TestFloridaRules(t *testing.T) {
	p := mustPolicy(t, "../examples/policy-us.yaml")
	ny, _ := time.LoadLocation("America/New_York")
	florida := Contact{Loc: ny, ZoneKnown: true, Place: PhonePlace("+13055550100")}
	newYork := Contact{Loc: ny, ZoneKnown: true, Place: PhonePlace("+12125550100")}
	unknown := Contact{Loc: ny, ZoneKnown: false, Place: PhonePlace("+12125550100")}
	at := time.Date(2026, 6, 10, 20, 30, 0, 0, ny)
	morning := time.Date(2026, 6, 11, 8, 0, 0, 0, ny)
	for name, c := range map[string]struct {
		to   Contact
		at   time.Time
		want time.Time
	}{
		"Florida at 20:30":      {florida, at, morning},
		"Florida at 19:59":      {florida, at.Add(-31 * time.Minute), time.Time{}},
		"New York at 20:30":     {newYork, at, time.Time{}},
		"New York at 21:00":     {newYork, at.Add(30 * time.Minute), morning},
		"unknown zone at 20:30": {unknown, at, morning},
	} {
		if got, _ := p.Hold(c.at, SMS, ClassPromotional, c.to); !got.Equal(c.want) {
			t.Errorf("%s: held until %v, want %v", name, got, c.want)
		}
	}
	week, day := 7*24*time.Hour, 24*time.Hour
	if got, want := p.Caps(SMS, ClassPromotional, florida.Place), []Cap{{Max: 6, Per: week}, {Max: 3, Per: day, Scope: "US-FL"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Florida caps = %v, want %v", got, want)
	}
	if got := p.Caps(SMS, ClassPromotional, newYork.Place); !reflect.DeepEqual(got, []Cap{{Max: 6, Per: week}}) {
		t.Errorf("New York caps = %v", got)
	}
	if got := p.Caps(SMS, ClassTransactional, florida.Place); !reflect.DeepEqual(got, []Cap{{Max: 10, Per: day}}) {
		t.Errorf("Florida transactional caps = %v (the default, untouched)", got)
	}
	xmas := time.Date(2026, 12, 25, 10, 0, 0, 0, ny)
	if got, why := p.Hold(xmas, SMS, ClassPromotional, newYork); !got.Equal(time.Date(2026, 12, 26, 8, 0, 0, 0, ny)) || why != HoldBlackout {
		t.Errorf("promotional SMS on Christmas: held until %v (%v), want 26 December 08:00 for the blackout", got, why)
	}
	if got, _ := p.Hold(xmas, Email, ClassPromotional, newYork); !got.Equal(time.Date(2026, 12, 26, 0, 0, 0, 0, ny)) {
		t.Errorf("promotional email on Christmas: held until %v, want midnight", got)
	}
	if got, _ := p.Hold(xmas, SMS, ClassTransactional, newYork); !got.IsZero() {
		t.Errorf("transactional SMS on Christmas held until %v", got)
	}
}

// TestHoldAcrossDSTAndYearlyRuns: a window ending in a DST gap ends at the
// gap's end; a yearly blackout through New Year holds both of its days.
func TestHoldAcrossDSTAndYearlyRuns(t *testing.T) {
	p, problems := ParsePolicy("p.yaml", []byte("quiet_hours: {email: 01:00-02:30}\nblackout_dates: [{dates: 12-31..01-01, classes: [alert]}]\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	ny, _ := time.LoadLocation("America/New_York")
	to := Contact{Loc: ny, ZoneKnown: true}
	// 8 March 2026: 02:00 jumps to 03:00.
	got, _ := p.Hold(time.Date(2026, 3, 8, 1, 30, 0, 0, ny), Email, ClassPromotional, to)
	if want := time.Date(2026, 3, 8, 3, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("window ending in the gap: %v, want %v", got, want)
	}
	for _, day := range []time.Time{time.Date(2026, 12, 31, 12, 0, 0, 0, ny), time.Date(2027, 1, 1, 12, 0, 0, 0, ny)} {
		if got, why := p.Hold(day, SMS, ClassAlert, to); !got.Equal(time.Date(2027, 1, 2, 8, 0, 0, 0, ny)) || why != HoldBlackout {
			t.Errorf("alert on %s: %v %v, want 2 January 08:00", day.Format("Jan 2"), got, why)
		}
	}
}

// TestPolicyProblems: each mistake is reported at its file:line:col with
// what to write instead, and leaves no policy.
func TestPolicyProblems(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"cap:\n  sms: {promotional: 3 per 7d}\n", `1:1: unknown key "cap" in the policy; did you mean "caps"?`},
		{"caps:\n  sms: {promo: 3 per 7d}\n", `2:9: unknown key "promo" in caps.sms; did you mean "promotional"?`},
		{"caps:\n  fax: {promotional: 3 per 7d}\n", `2:3: unknown key "fax" in caps (valid keys: email, sms)`},
		{"caps:\n  sms: {promotional: 3 a week}\n", `2:22: caps.sms.promotional: "3 a week" is not a cap; write a count and a window, e.g. "3 per 7d"`},
		{"caps:\n  sms: {promotional: 0 per 7d}\n", `2:22: caps.sms.promotional: "0": the count must be a whole number of at least 1`},
		{"caps:\n  sms: {promotional: [2 per 7d, 1 per 7days]}\n", `2:33: caps.sms.promotional: "7days": the window must be a duration`},
		{"quiet_hours:\n  sms: 21:00-8\n", `2:8: quiet_hours.sms: "21:00-8" is not a window; write when quiet hours start and end, e.g. "21:00-08:00"`},
		{"quiet_hours:\n  sms: 25:00-08:00\n", `2:8: quiet_hours.sms: invalid time of day "25:00"`},
		{"quiet_hours: {sms: 08:00-08:00}\n", `1:20: quiet_hours.sms: "08:00-08:00" starts and ends at the same time`},
		{"regions:\n  US-FLA: {quiet_hours: {sms: 20:00-08:00}}\n", `2:3: regions: "US-FLA" is not a US state; did you mean "US-FL"?`},
		{"regions:\n  CA-ON: {quiet_hours: {sms: 20:00-08:00}}\n", `2:3: regions: "CA-ON": only US states can be told from a phone number`},
		{"regions:\n  us-fl: {quiet_hours: {sms: 20:00-08:00}}\n", `2:3: regions: "us-fl" is not a US state; did you mean "US-FL"?`},
		{"countries:\n  fr: {quiet_hours: {email: 22:00-07:00}}\n", `2:3: countries: "fr" is not a country code; did you mean "FR"?`},
		{"countries:\n  USA: {}\n", `2:3: countries: "USA" is not a country code`},
		{"regions:\n  US-FL:\n    quiet_hours: {sms: none}\n", `3:24: regions.US-FL.quiet_hours.sms: none is for the top level`},
		{"regions:\n  US-FL:\n    qiet_hours: {sms: 20:00-08:00}\n", `3:5: unknown key "qiet_hours" in regions.US-FL; did you mean "quiet_hours"?`},
		{"blackout_dates: [2026-13-01]\n", `1:18: blackout_dates: "2026-13-01" is not a date; write 2026-12-25, 12-25 for every year`},
		{"blackout_dates: [12-24..2026-12-26]\n", `1:18: blackout_dates: "12-24..2026-12-26" mixes a date and a yearly day`},
		{"blackout_dates: [2026-12-26..2026-12-24]\n", `1:18: blackout_dates: "2026-12-26..2026-12-24" ends before it starts`},
		{"blackout_dates: [02-29]\n", `1:18: blackout_dates: "02-29" recurs only in leap years`},
		{"blackout_dates:\n  - {dates: 12-25, classes: [promo]}\n", `2:30: blackout_dates.classes must be one of promotional, transactional, alert, not "promo"; did you mean "promotional"?`},
		{"blackout_dates:\n  - {channels: [sms]}\n", `2:5: a blackout_dates entry needs dates`},
		{"regions:\n  US-FL:\n    quiet_hours: {sms: 08:00-21:00}\n",
			`3:24: regions.US-FL.quiet_hours.sms: 08:00-21:00 with quiet_hours.sms 21:00-08:00 covers the whole day, so a message on sms would never go out`},
		{"unknown_zone: strict\n", `1:15: unknown_zone must be strictest, or per channel the windows to use (e.g. {sms: 20:00-09:00}), not "strict"; did you mean "strictest"?`},
		{"countries:\n  FR: {quiet_hours: {sms: 08:00-21:00}}\nunknown_zone: {email: none}\n",
			`2:27: countries.FR.quiet_hours.sms: 08:00-21:00 with quiet_hours.sms 21:00-08:00 covers the whole day`},
		{"", `1:1: empty policy file`},
		{"# nothing\n", `1:1: empty policy file`},
		{"caps:\n\tsms: {}\n", `2: invalid YAML: found character that cannot start any token`},
		{"caps: {}\n---\ncaps: {}\n", `3:1: a policy file holds one document`},
	} {
		p, problems := ParsePolicy("p.yaml", []byte(c.yaml))
		got := make([]string, len(problems))
		for i, pr := range problems {
			got[i] = pr.String()
		}
		if p != nil || len(got) == 0 || !strings.HasPrefix(got[0], "p.yaml:"+c.want) {
			t.Errorf("policy:\n%s\nproblems %q\nwant first p.yaml:%s...", c.yaml, got, c.want)
		}
	}
}

// TestUnknownZoneWindows: unknown_zone may name the windows itself; a
// channel it leaves out keeps the matching rules' windows.
func TestUnknownZoneWindows(t *testing.T) {
	p, problems := ParsePolicy("p.yaml", []byte("regions: {US-FL: {quiet_hours: {sms: 20:00-08:00}}}\nunknown_zone: {sms: 22:00-07:00}\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	utc := Contact{Loc: time.UTC}
	for at, want := range map[int]bool{21: false, 22: true, 7: false, 6: true} {
		got, _ := p.Hold(time.Date(2026, 6, 10, at, 30, 0, 0, time.UTC), SMS, ClassPromotional, utc)
		if got.IsZero() == want {
			t.Errorf("unknown zone at %02d:30: held until %v, want held %v", at, got, want)
		}
	}
}

// BenchmarkPolicyPerMessage is what planning pays the policy per message:
// the number's place (cached per prefix), the caps and the hold of an SMS
// under examples/policy-us.yaml, for a Florida number at 20:30 (held until
// 08:00) and a New York one (not held).
func BenchmarkPolicyPerMessage(b *testing.B) {
	p := mustPolicy(b, "../examples/policy-us.yaml")
	ny, _ := time.LoadLocation("America/New_York")
	at := time.Date(2026, 6, 10, 20, 30, 0, 0, ny)
	phones := []string{"+13055550101", "+12125550102"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		to := Contact{Loc: ny, ZoneKnown: true, Place: PhonePlace(phones[i%2])}
		if len(p.Caps(SMS, ClassPromotional, to.Place)) == 0 {
			b.Fatal("no caps")
		}
		p.Hold(at, SMS, ClassPromotional, to)
	}
}
