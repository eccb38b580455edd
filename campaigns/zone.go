package campaigns

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/tidings-crm/tidings/rules"
)

// ZoneSource says where the zone a customer's local times are computed in
// came from.
type ZoneSource uint8

const (
	// ZoneStated is the customer's own time_zone.
	ZoneStated ZoneSource = iota
	// ZoneInferred comes from the customer's phone number (country and,
	// where the numbering plan allows, area code).
	ZoneInferred
	// ZoneDefault is the configured default zone: no usable time_zone and
	// nothing to infer it from.
	ZoneDefault
)

// String names the source as `tidings audience` prints it.
func (s ZoneSource) String() string {
	switch s {
	case ZoneStated:
		return "stated"
	case ZoneInferred:
		return "inferred"
	}
	return "default"
}

// CustomerLocation returns the zone a customer's birthday, send time and
// SMS quiet hours are computed in, and where it came from: the stated
// time_zone when it names a zone, else a zone inferred from the phone number
// (PhoneLocation), else def. A US shop's customer without a zone is thus
// not texted at 03:00 their time because the default is UTC.
func CustomerLocation(timeZone, phone string, def *time.Location) (*time.Location, ZoneSource) {
	if timeZone != "" {
		if loc := Location(timeZone, nil); loc != nil {
			return loc, ZoneStated
		}
	}
	if loc := PhoneLocation(phone); loc != nil {
		return loc, ZoneInferred
	}
	return def, ZoneDefault
}

// birthdayLocation is the zone whose date decides whether a birthday is
// today: CustomerLocation's, but the phone number is looked at only when no
// zone is stated and the birthday is today somewhere on Earth, since Due
// runs for every customer of the stream.
func birthdayLocation(env *rules.Env, def *time.Location) *time.Location {
	if loc := Location(env.TimeZone, nil); loc != nil {
		return loc
	}
	if env.Phone == "" || !birthdayNear(env.Birthday, env.Now) {
		return def
	}
	loc, _ := CustomerLocation("", env.Phone, def)
	return loc
}

// Zones of the extreme offsets (UTC-12 and UTC+14): every local date at an
// instant is the date in one of them or in UTC (they are 12 and 14 hours
// apart, less than a day).
var (
	farWest = time.FixedZone("UTC-12", -12*3600)
	farEast = time.FixedZone("UTC+14", 14*3600)
)

// birthdayNear reports whether now falls on the birthday in some zone.
func birthdayNear(birthday, now time.Time) bool {
	return BirthdayDue(birthday, farWest, now) || BirthdayDue(birthday, time.UTC, now) || BirthdayDue(birthday, farEast, now)
}

// MaxInferredSpread bounds how far apart the zones a number may map to can
// be for PhoneLocation to pick one: a country-wide answer spanning more
// (+1 with an unknown area code covers Guam to Newfoundland) says nothing
// about the customer's clock.
const MaxInferredSpread = 3 * time.Hour

// PhoneLocation infers a zone from a phone number in E.164 form
// (+33612345678), using the libphonenumber prefix-to-zone data: country and,
// where the numbering plan allows, area code or exchange. It returns nil for
// a number it cannot place.
//
// A number that maps to several zones (an area code across a zone line,
// Spain with the Canaries) gets the westernmost of them, by standard UTC
// offset, ties by name: its morning is already later in the day in every
// other candidate zone, so a morning send and the 08:00 end of SMS quiet
// hours never land before 08:00 for any of them, and its day ends last, so
// a birthday greeting is never early. Candidates spread over more than
// MaxInferredSpread give nil.
//
// Results are cached per number prefix (the longest prefix the data can
// tell apart), so planning pays the lookup once per prefix.
func PhoneLocation(phone string) *time.Location {
	digits, ok := e164Digits(phone)
	if !ok {
		return nil
	}
	key := digits[:min(len(digits), prefixDigits)]
	if v, ok := byPrefix.Load(key); ok {
		return v.(*time.Location)
	}
	loc := pickZone(key)
	if prefixEntries.Add(1) <= maxPrefixEntries {
		byPrefix.Store(key, loc)
	}
	return loc
}

// prefixDigits is the longest prefix in the libphonenumber zone data (9
// digits, e.g. an Australian exchange): two numbers that agree on their
// first prefixDigits digits map to the same zones.
const prefixDigits = 9

// maxPrefixEntries bounds the prefix cache (about 100 bytes an entry);
// past it lookups still work, uncached.
const maxPrefixEntries = 1 << 17

var (
	byPrefix      sync.Map // digits prefix -> *time.Location (nil: no inference)
	prefixEntries atomic.Int64
	byAnswer      sync.Map // first element of a data answer -> *time.Location
)

// e164Digits returns the digits of +<7 to 15 digits>.
func e164Digits(phone string) (string, bool) {
	if len(phone) < 8 || len(phone) > 16 || phone[0] != '+' || phone[1] == '0' {
		return "", false
	}
	for i := 1; i < len(phone); i++ {
		if phone[i] < '0' || phone[i] > '9' {
			return "", false
		}
	}
	return phone[1:], true
}

// pickZone looks the prefix up and applies the choice rule. Answers are
// shared slices of the data, so the choice is cached per answer.
func pickZone(prefix string) *time.Location {
	names, err := phonenumbers.GetTimezonesForPrefix(prefix)
	if err != nil || len(names) == 0 || names[0] == phonenumbers.UNKNOWN_TIMEZONE {
		return nil
	}
	if v, ok := byAnswer.Load(&names[0]); ok {
		return v.(*time.Location)
	}
	loc := westernmost(names)
	byAnswer.Store(&names[0], loc)
	return loc
}

// westernmost applies PhoneLocation's rule to candidate zone names.
func westernmost(names []string) *time.Location {
	var best *time.Location
	var bestOff, eastOff int
	for _, name := range names {
		loc := Location(currentName(name), nil)
		if loc == nil {
			continue
		}
		off := standardOffset(loc)
		if best == nil || off > eastOff {
			eastOff = off
		}
		if best == nil || off < bestOff || (off == bestOff && loc.String() < best.String()) {
			best, bestOff = loc, off
		}
	}
	if best == nil || time.Duration(eastOff-bestOff)*time.Second > MaxInferredSpread {
		return nil
	}
	return best
}

// standardOffset is a zone's UTC offset in seconds outside DST: the smaller
// of its January and July offsets (so both hemispheres count alike).
func standardOffset(loc *time.Location) int {
	_, jan := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC).In(loc).Zone()
	_, jul := time.Date(2025, 7, 15, 12, 0, 0, 0, time.UTC).In(loc).Zone()
	return min(jan, jul)
}

// renamed maps the older spellings the libphonenumber data still uses to
// the zone's current IANA name (same rules, the name people look for).
var renamed = map[string]string{
	"Africa/Asmera": "Africa/Asmara", "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
	"America/Godthab": "America/Nuuk", "Asia/Calcutta": "Asia/Kolkata", "Asia/Katmandu": "Asia/Kathmandu",
	"Asia/Rangoon": "Asia/Yangon", "Atlantic/Faeroe": "Atlantic/Faroe", "Pacific/Enderbury": "Pacific/Kanton",
	"Pacific/Ponape": "Pacific/Pohnpei", "Pacific/Truk": "Pacific/Chuuk",
}

func currentName(name string) string {
	if n, ok := renamed[name]; ok {
		return n
	}
	return name
}
