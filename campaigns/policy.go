package campaigns

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"
)

// Policy is the contact policy: how often, and when, a customer may be
// contacted, across all campaigns. It is data (a policy file, ParsePolicy;
// DefaultPolicy without one) that the engine applies when it plans and
// sends every message to a customer; team alerts (recipient: team) are
// outside it.
//
// A policy has rules for everyone (the top level), per country and per US
// state, and a customer's country and state come from their phone number
// (PhonePlace). Every rule that matches a customer applies at once: a
// message must fit each cap and waits while any quiet window or blackout
// date holds it.
type Policy struct {
	// File is the policy file it was read from ("" for DefaultPolicy).
	File string

	top       policyRule
	countries map[string]*policyRule // by ISO 3166-1 alpha-2 code: "US"
	regions   map[string]*policyRule // by ISO 3166-2 code: "US-FL"
	// unknownZone holds, per channel, the quiet windows of a customer whose
	// zone is not known (their local time is the default zone's); a
	// channel without an entry gets the windows of the rules that match.
	unknownZone map[Channel]quietSet
	maxPer      time.Duration // the longest cap window
}

// policyRule is what the top level, a country or a region says.
type policyRule struct {
	name      string // "" for the top level, else the country or region code
	caps      map[capKey][]Cap
	quiet     map[Channel]quietSet
	blackouts []Blackout
}

type capKey struct {
	channel Channel
	class   Class
}

// Cap is one frequency cap: at most Max messages of a channel and class to
// one customer per rolling Per, across campaigns.
type Cap struct {
	Max int
	Per time.Duration
	// Scope is the rule that set it: "" for the top level, else a country
	// ("US") or region ("US-FL") code.
	Scope string
}

// String describes the cap for reasons and logs: "3 per 24h (US-FL)".
func (c Cap) String() string {
	s := fmt.Sprintf("%d per %s", c.Max, FormatDuration(c.Per))
	if c.Scope != "" {
		s += " (" + c.Scope + ")"
	}
	return s
}

// Place is where a phone number is registered: its country as an ISO
// 3166-1 alpha-2 code ("US") and, for US numbers with a geographic area
// code, its state as an ISO 3166-2 code ("US-FL"). Empty parts are unknown.
type Place struct {
	Country, Region string
}

// Contact is what the policy needs to know of the customer a message goes
// to: their zone, whether it is known (stated, or inferred from the phone
// number) or only the default, and where their number is registered.
type Contact struct {
	Loc       *time.Location
	ZoneKnown bool
	Place     Place
}

// Hold says why a message may not go out at a given time.
type Hold int

// The holds.
const (
	HoldNone     Hold = iota
	HoldQuiet         // a quiet-hours window
	HoldBlackout      // a blackout date
)

// The default policy's values: Tidings' behaviour without a policy file.
// Promotional caps and SMS quiet hours are the historical constants;
// transactional messages and alerts, once uncapped, get limits that only a
// flood (a loop, a replayed feed) reaches.
var defaultCaps = map[capKey]Cap{
	{Email, ClassPromotional}:   {Max: 3, Per: 7 * 24 * time.Hour},
	{Email, ClassTransactional}: {Max: 20, Per: 24 * time.Hour},
	{Email, ClassAlert}:         {Max: 10, Per: 24 * time.Hour},
	{SMS, ClassPromotional}:     {Max: 2, Per: 7 * 24 * time.Hour},
	{SMS, ClassTransactional}:   {Max: 10, Per: 24 * time.Hour},
	{SMS, ClassAlert}:           {Max: 5, Per: 24 * time.Hour},
}

// defaultQuiet is the default quiet hours: SMS from QuietStartHour:00 to
// QuietEndHour:00 in the customer's zone; email at any hour.
var defaultQuiet = map[Channel][]Window{
	SMS: {{From: ClockTime{Hour: QuietStartHour}, To: ClockTime{Hour: QuietEndHour}}},
}

// DefaultPolicy returns the policy in force without a policy file (the
// values above; examples/policy.yaml writes it out).
func DefaultPolicy() *Policy {
	p := &Policy{top: policyRule{caps: map[capKey][]Cap{}, quiet: map[Channel]quietSet{}}}
	for k, c := range defaultCaps {
		p.top.caps[k] = []Cap{c}
	}
	for ch, ws := range defaultQuiet {
		p.top.quiet[ch] = windowSet(ws)
	}
	p.finish(true)
	return p
}

// defaultPolicy is DefaultPolicy built once, for reads.
var defaultPolicy = sync.OnceValue(DefaultPolicy)

// finish computes what the policy derives from its rules: the longest cap
// window and, with strictest, the windows of customers in an unknown zone
// (every window the policy has for the channel, wherever it applies).
func (p *Policy) finish(strictest bool) {
	p.maxPer = 0
	for _, r := range p.rules() {
		for _, cs := range r.caps {
			for _, c := range cs {
				p.maxPer = max(p.maxPer, c.Per)
			}
		}
	}
	if !strictest {
		return
	}
	p.unknownZone = map[Channel]quietSet{}
	for _, ch := range []Channel{Email, SMS} {
		p.unknownZone[ch] = p.strictest(ch)
	}
}

// strictest is the union of every quiet window the policy has for ch.
func (p *Policy) strictest(ch Channel) quietSet {
	var s quietSet
	for _, r := range p.rules() {
		s = s.union(r.quiet[ch])
	}
	return s
}

// rules lists the top level, then the countries and regions.
func (p *Policy) rules() []*policyRule {
	out := []*policyRule{&p.top}
	for _, k := range sortedKeys(p.countries) {
		out = append(out, p.countries[k])
	}
	for _, k := range sortedKeys(p.regions) {
		out = append(out, p.regions[k])
	}
	return out
}

func sortedKeys(m map[string]*policyRule) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// matching returns the rules that apply at place: the top level, its
// country's and its region's.
func (p *Policy) matching(place Place) (country, region *policyRule) {
	if place.Country != "" {
		country = p.countries[place.Country]
	}
	if place.Region != "" {
		region = p.regions[place.Region]
	}
	return country, region
}

// ByPlace reports whether any rule depends on where a number is registered
// (the engine looks the place up only then).
func (p *Policy) ByPlace() bool { return len(p.countries) > 0 || len(p.regions) > 0 }

// MaxPer is the longest window of any cap: how far back a planner must look
// at what a customer received.
func (p *Policy) MaxPer() time.Duration { return p.maxPer }

// Caps returns the caps a message of channel ch and class cl to a customer
// at place must fit: the top level's, then its country's and region's.
func (p *Policy) Caps(ch Channel, cl Class, place Place) []Cap {
	k := capKey{ch, cl}
	out := p.top.caps[k]
	country, region := p.matching(place)
	for _, r := range []*policyRule{country, region} {
		if r != nil && len(r.caps[k]) > 0 {
			out = append(slices.Clip(out), r.caps[k]...)
		}
	}
	return out
}

// Hold returns the first instant at or after t at which a message of
// channel ch and class cl may go out to the customer, and what held it
// first; the zero time and HoldNone when it may go out at t. Quiet windows
// and blackout dates are read in the customer's zone.
func (p *Policy) Hold(t time.Time, ch Channel, cl Class, to Contact) (time.Time, Hold) {
	quiet := p.quietFor(ch, to)
	country, region := p.matching(to.Place)
	blackouts := [3][]Blackout{p.top.blackouts}
	if country != nil {
		blackouts[1] = country.blackouts
	}
	if region != nil {
		blackouts[2] = region.blackouts
	}
	if quiet.empty() && len(blackouts[0])+len(blackouts[1])+len(blackouts[2]) == 0 {
		return time.Time{}, HoldNone
	}
	at, first := t, HoldNone
	for range maxHoldSteps {
		next, why := at, HoldNone
		for _, bs := range blackouts {
			for _, b := range bs {
				if until := b.until(localDay(next, to.Loc), ch, cl, to.Loc); !until.IsZero() {
					next, why = until, HoldBlackout
				}
			}
		}
		if why == HoldNone {
			if until := quiet.until(next, to.Loc); !until.IsZero() {
				next, why = until, HoldQuiet
			}
		}
		if why == HoldNone {
			break
		}
		if first == HoldNone {
			first = why
		}
		at = next
	}
	if first == HoldNone {
		return time.Time{}, HoldNone
	}
	return at, first
}

// maxHoldSteps bounds Hold's walk through blackouts and quiet windows (a
// policy file cannot hold a message for ever: validation sees to it).
const maxHoldSteps = 1000

// quietFor is the set of quiet minutes for a message on ch to the customer.
func (p *Policy) quietFor(ch Channel, to Contact) quietSet {
	if !to.ZoneKnown {
		if s, ok := p.unknownZone[ch]; ok {
			return s
		}
	}
	s := p.top.quiet[ch]
	country, region := p.matching(to.Place)
	if country != nil {
		s = s.union(country.quiet[ch])
	}
	if region != nil {
		s = s.union(region.quiet[ch])
	}
	return s
}

// Window is a quiet-hours window: no message from From until To, in the
// customer's zone; To before From spans midnight (21:00-08:00).
type Window struct {
	From, To ClockTime
}

// String writes the window as a policy file does: "21:00-08:00".
func (w Window) String() string { return w.From.String() + "-" + w.To.String() }

const minutesPerDay = 24 * 60

// quietSet holds the quiet minutes of a day, one bit per minute: windows of
// several rules combine by union.
type quietSet [(minutesPerDay + 63) / 64]uint64

func windowSet(ws []Window) quietSet {
	var s quietSet
	for _, w := range ws {
		from, to := w.From.Hour*60+w.From.Minute, w.To.Hour*60+w.To.Minute
		for m := from; m != to; m = (m + 1) % minutesPerDay {
			s[m/64] |= 1 << (m % 64)
		}
	}
	return s
}

func (s quietSet) has(m int) bool { return s[m/64]&(1<<(m%64)) != 0 }

func (s quietSet) union(o quietSet) quietSet {
	for i := range s {
		s[i] |= o[i]
	}
	return s
}

func (s quietSet) empty() bool { return s == quietSet{} }

// quietMinutes counts the quiet minutes of the day.
func (s quietSet) quietMinutes() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// until returns the end of the quiet run that t (in loc) falls in, or the
// zero time when t is not quiet. A local time skipped by a DST gap is the
// first instant after the gap (WallTime).
func (s quietSet) until(t time.Time, loc *time.Location) time.Time {
	local := t.In(loc)
	m := local.Hour()*60 + local.Minute()
	if !s.has(m) {
		return time.Time{}
	}
	end := m + s.quietRun(m)
	return WallTime(local.Year(), local.Month(), local.Day()+end/minutesPerDay, (end%minutesPerDay)/60, end%60, loc)
}

// quietRun counts the quiet minutes from m (quiet itself) to the next free
// one, through midnight: minutesPerDay when the whole day is quiet. It
// scans a word (64 minutes) at a time.
func (s quietSet) quietRun(m int) int {
	for k := 0; k < minutesPerDay; {
		pos := (m + k) % minutesPerDay
		i, off := pos/64, pos%64
		width := min(64, minutesPerDay-i*64) // the last word holds 32 minutes
		free := ^s[i] & (1<<width - 1) >> off
		if free != 0 {
			return min(k+bits.TrailingZeros64(free), minutesPerDay)
		}
		k += width - off
	}
	return minutesPerDay
}

// windows lists the set as windows, for messages ("20:00-08:00").
func (s quietSet) windows() []Window {
	var out []Window
	start := -1
	for m := 0; m <= minutesPerDay; m++ {
		q := m < minutesPerDay && s.has(m)
		switch {
		case q && start < 0:
			start = m
		case !q && start >= 0:
			out = append(out, Window{From: clockOf(start), To: clockOf(m % minutesPerDay)})
			start = -1
		}
	}
	// A run through midnight is one window: 21:00-00:00 and 00:00-08:00.
	if n := len(out); n > 1 && out[0].From == (ClockTime{}) && out[n-1].To == (ClockTime{}) {
		out[0].From = out[n-1].From
		out = out[:n-1]
	}
	return out
}

func clockOf(m int) ClockTime { return ClockTime{Hour: m / 60, Minute: m % 60} }

// describeWindows writes windows as "21:00-08:00 and 12:00-13:00".
func describeWindows(ws []Window) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.String()
	}
	return strings.Join(parts, " and ")
}

// Blackout is a day or a run of days (in the customer's zone) on which
// messages of its channels and classes are not sent: they wait until the
// next day that is not blacked out. Yearly blackouts recur every year.
type Blackout struct {
	From, To time.Time // dates (UTC midnight); To is the last day, inclusive
	Yearly   bool      // only the month and day count
	Channels []Channel // nil: every channel
	Classes  []Class   // default: promotional
}

// localDay is t's date in loc, as a UTC midnight (how blackouts hold dates).
func localDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// until returns the local midnight (in loc) ending the blackout that the
// local date day falls in, for a message of channel ch and class cl, or
// the zero time.
func (b Blackout) until(day time.Time, ch Channel, cl Class, loc *time.Location) time.Time {
	if (b.Channels != nil && !slices.Contains(b.Channels, ch)) || !slices.Contains(b.Classes, cl) {
		return time.Time{}
	}
	from, to := b.From, b.To
	if b.Yearly {
		from = time.Date(day.Year(), b.From.Month(), b.From.Day(), 0, 0, 0, 0, time.UTC)
		to = time.Date(day.Year(), b.To.Month(), b.To.Day(), 0, 0, 0, 0, time.UTC)
		if to.Before(from) { // a run through New Year: 12-31..01-01
			if day.Before(from) {
				from = from.AddDate(-1, 0, 0)
			} else {
				to = to.AddDate(1, 0, 0)
			}
		}
	}
	if day.Before(from) || day.After(to) {
		return time.Time{}
	}
	return WallTime(to.Year(), to.Month(), to.Day()+1, 0, 0, loc)
}
