package campaigns

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/rules"
)

// TestCustomerZoneInferredFromPhone checks which zone a customer's local
// times use: the stated zone when it names one, else the zone of the phone
// number's country and area code, else the configured default. Numbers that
// map to several zones get the westernmost one; a country-wide answer
// spread over more than three hours is no inference.
func TestCustomerZoneInferredFromPhone(t *testing.T) {
	t.Parallel()
	def, err := time.LoadLocation("Europe/Berlin") // not UTC, so a fallback is visible
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, zone, phone string
		want              string
		source            ZoneSource
	}{
		{"US New York area code", "", "+12125551234", "America/New_York", ZoneInferred},
		{"US Los Angeles area code", "", "+13105550100", "America/Los_Angeles", ZoneInferred},
		{"France mobile", "", "+33612345678", "Europe/Paris", ZoneInferred},
		{"Australia mobile", "", "+61412345678", "Australia/Sydney", ZoneInferred},
		{"Australia Perth landline: Adelaide or Perth, the westernmost", "", "+61893211234", "Australia/Perth", ZoneInferred},
		{"India: the data's Asia/Calcutta under its current name", "", "+919876543210", "Asia/Kolkata", ZoneInferred},
		{"Alaska: Adak or Anchorage, the westernmost", "", "+19075551234", "America/Adak", ZoneInferred},
		{"Idaho exchange in Mountain time", "", "+12082015555", "America/Denver", ZoneInferred},
		{"Idaho exchange in Pacific time", "", "+12082155555", "America/Los_Angeles", ZoneInferred},
		{"Spain mobile", "", "+34612345678", "Europe/Madrid", ZoneInferred},
		{"Gran Canaria landline", "", "+34928123456", "Atlantic/Canary", ZoneInferred},
		{"Portugal mobile: Azores or Lisbon, the westernmost", "", "+351912345678", "Atlantic/Azores", ZoneInferred},
		{"stated zone wins over the phone", "Asia/Tokyo", "+12125551234", "Asia/Tokyo", ZoneStated},
		{"misspelt stated zone: inferred", "America/New_Yrok", "+12125551234", "America/New_York", ZoneInferred},
		{"unassigned country code", "", "+99912345678", "Europe/Berlin", ZoneDefault},
		{"+1 toll-free: all of North America and the Pacific", "", "+18005551234", "Europe/Berlin", ZoneDefault},
		{"national form, no country", "", "0612345678", "Europe/Berlin", ZoneDefault},
		{"not a number", "", "+33 6 12 34 56 78", "Europe/Berlin", ZoneDefault},
		{"no phone", "", "", "Europe/Berlin", ZoneDefault},
	}
	for _, tc := range cases {
		for range 2 { // the second call is answered by the cache
			loc, src := CustomerLocation(tc.zone, tc.phone, def)
			if loc.String() != tc.want || src != tc.source {
				t.Errorf("%s (%q, %q): %s (%s), want %s (%s)", tc.name, tc.zone, tc.phone, loc, src, tc.want, tc.source)
			}
		}
	}
}

// BenchmarkPhoneLocation measures zone inference as planning pays it: a
// base of customers spread over a few hundred prefixes (cached after their
// first lookup), and a first lookup of every prefix (uncached).
func BenchmarkPhoneLocation(b *testing.B) {
	phones := make([]string, 1000)
	for i := range phones {
		switch i % 4 {
		case 0:
			phones[i] = fmt.Sprintf("+1212555%04d", i)
		case 1:
			phones[i] = fmt.Sprintf("+336%08d", i*7919)
		case 2:
			phones[i] = fmt.Sprintf("+614%08d", i*104729)
		default:
			phones[i] = fmt.Sprintf("+9198%08d", i*15485863%100000000)
		}
	}
	b.Run("cached", func(b *testing.B) {
		for _, p := range phones {
			PhoneLocation(p)
		}
		b.ResetTimer()
		for i := range b.N {
			if PhoneLocation(phones[i%len(phones)]) == nil {
				b.Fatal("no zone")
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		for i := range b.N {
			if pickZone(phones[i%len(phones)][1:]) == nil {
				b.Fatal("no zone")
			}
		}
	})
	b.Run("stated", func(b *testing.B) {
		for range b.N {
			if _, src := CustomerLocation("America/New_York", "+12125551234", time.UTC); src != ZoneStated {
				b.Fatal(src)
			}
		}
	})
}

// TestBirthdayDueInThePhonesZone checks that a customer without a zone has
// their birthday on their own calendar: at 02:00 UTC on 11 June it is still
// 10 June in New York, so a New York number born on 10 June is due and one
// born on 11 June is not yet, while the default zone (UTC) would say the
// opposite.
func TestBirthdayDueInThePhonesZone(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 11, 2, 0, 0, 0, time.UTC)
	bday := &Campaign{Trigger: Trigger{Kind: TriggerBirthday, Birthday: &BirthdayTrigger{}}}
	for _, tc := range []struct {
		zone, phone string
		born        time.Month
		day         int
		want        bool
	}{
		{"", "+12125550101", time.June, 10, true},
		{"", "+12125550101", time.June, 11, false},
		{"", "", time.June, 10, false}, // no phone: UTC says 11 June
		{"", "", time.June, 11, true},
		{"UTC", "+12125550101", time.June, 11, true}, // a stated zone wins
	} {
		env := rules.NewEnv(time.UTC)
		env.Now, env.TimeZone, env.Phone = now, tc.zone, tc.phone
		env.Birthday = time.Date(1990, tc.born, tc.day, 0, 0, 0, 0, time.UTC)
		due, err := Due(bday, env, time.UTC)
		if err != nil || due != tc.want {
			t.Errorf("zone %q phone %q born %s %d: due = %v, %v; want %v", tc.zone, tc.phone, tc.born, tc.day, due, err, tc.want)
		}
	}
}

// BenchmarkBirthdayDue measures the birthday trigger per streamed customer:
// a stated zone; no zone, a phone, and a birthday far from today (the
// common case: no inference); and no zone with the birthday today
// (inferred from the phone, cached by prefix).
func BenchmarkBirthdayDue(b *testing.B) {
	now := time.Date(2025, 6, 11, 2, 0, 0, 0, time.UTC)
	c := &Campaign{Trigger: Trigger{Kind: TriggerBirthday, Birthday: &BirthdayTrigger{}}}
	for _, bc := range []struct {
		name, zone string
		born       time.Month
	}{{"stated", "America/New_York", time.June}, {"no-zone-far", "", time.March}, {"no-zone-today", "", time.June}} {
		b.Run(bc.name, func(b *testing.B) {
			env := rules.NewEnv(time.UTC)
			env.Now, env.TimeZone, env.Phone = now, bc.zone, "+12125550101"
			env.Birthday = time.Date(1990, bc.born, 10, 0, 0, 0, 0, time.UTC)
			for b.Loop() {
				if _, err := Due(c, env, time.UTC); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPhoneLocationCacheMatchesPlainLookup is the parity check of the
// per-prefix cache: for numbers of every length in many country codes,
// twice (the second from the cache), PhoneLocation answers as the plain
// lookup of the whole number does. A library update that brings prefixes
// longer than prefixDigits shows here when the sample hits one of them.
func TestPhoneLocationCacheMatchesPlainLookup(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	codes := []string{"1", "7", "20", "27", "30", "31", "33", "34", "39", "44", "49", "52", "55", "61", "62", "81", "86",
		"91", "351", "353", "380", "852", "971"}
	inferred := 0
	for i := range 20000 {
		digits := codes[i%len(codes)]
		for len(digits) < 8+rng.IntN(8) {
			digits += strconv.Itoa(rng.IntN(10))
		}
		want := pickZone(digits)
		for range 2 {
			if got := PhoneLocation("+" + digits); got != want {
				t.Fatalf("+%s: cached %v, plain %v", digits, got, want)
			}
		}
		if want != nil {
			inferred++
		}
	}
	if inferred < 10000 {
		t.Fatalf("only %d of 20000 numbers were placed; the sample does not exercise the cache", inferred)
	}
}
