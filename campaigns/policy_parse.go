package campaigns

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"go.yaml.in/yaml/v3"
)

// Policy file keys, in documentation order (docs/policy.md).
var (
	policyKeys     = []string{"caps", "quiet_hours", "blackout_dates", "unknown_zone", "countries", "regions"}
	policyRuleKeys = []string{"caps", "quiet_hours", "blackout_dates"}
	blackoutKeys   = []string{"dates", "channels", "classes"}
	channelNames   = []string{string(Email), string(SMS)}
	classNames     = []string{string(ClassPromotional), string(ClassTransactional), string(ClassAlert)}
)

// none is the value that removes a default (a cap, a quiet window).
const none = "none"

// strictestZone is unknown_zone's default: every window of the file.
const strictestZone = "strictest"

// maxCapWindow bounds a cap's window (the planner reads that much history).
const maxCapWindow = 366 * 24 * time.Hour

// LoadPolicy reads and parses a policy file of at most MaxFileSize bytes.
func LoadPolicy(file string) (*Policy, []Problem) {
	data, p := readFile(file)
	if p != nil {
		return nil, []Problem{*p}
	}
	return ParsePolicy(file, data)
}

// ParsePolicy reads a policy file: the keys it writes replace the defaults
// of DefaultPolicy (at the top level: per channel and class for caps, per
// channel for quiet hours); countries and regions add to the top level. It
// returns every problem with its file:line:col; the policy is nil when any
// is an error.
func ParsePolicy(file string, data []byte) (*Policy, []Problem) {
	pp := &policyParser{parser: &parser{file: file, lines: splitLines(data)}}
	pol := pp.parse(data)
	sortProblems(pp.problems)
	if HasErrors(pp.problems) {
		return nil, pp.problems
	}
	pol.File = file
	return pol, pp.problems
}

// policyParser reads a policy file with the campaign parser's positions.
type policyParser struct {
	*parser
	// quietAt is, per rule and channel, the node of its quiet_hours, where
	// a combination that leaves no time to send is reported.
	quietAt map[*policyRule]map[Channel]*yaml.Node
}

func (pp *policyParser) parse(data []byte) *Policy {
	root := pp.policyDocument(data)
	if root == nil {
		return nil
	}
	f, ok := pp.mapping(root, "the policy", policyKeys)
	if !ok {
		return nil
	}
	pp.root = root
	pol := DefaultPolicy()
	pp.quietAt = map[*policyRule]map[Channel]*yaml.Node{}
	pp.rule(f, &pol.top, true)
	pol.countries = pp.places(f.get("countries"), "countries", pp.countryCode)
	pol.regions = pp.places(f.get("regions"), "regions", pp.regionCode)
	strictest := pp.unknownZone(f.get("unknown_zone"), pol)
	pol.finish(strictest)
	pp.checkTimeToSend(pol, f.get("unknown_zone"))
	return pol
}

// policyDocument decodes the file's single YAML document; a file of
// comments, or of a null, is empty too.
func (pp *policyParser) policyDocument(data []byte) *yaml.Node {
	const empty = "empty policy file: write the keys that differ from the defaults (see examples/policy.yaml), " +
		"or leave TIDINGS_POLICY unset for the defaults"
	root := pp.documentOf(data, empty, "a policy file holds one document; remove the second")
	if root != nil && resolve(root).Tag == "!!null" {
		pp.add(SeverityError, 1, 1, "%s", empty)
		return nil
	}
	return root
}

// rule reads caps, quiet_hours and blackout_dates into r. At the top level
// (top) a key replaces the default and none removes it; elsewhere a rule
// adds to the top level.
func (pp *policyParser) rule(f fields, r *policyRule, top bool) {
	pp.caps(f.get("caps"), r, top)
	pp.quietHours(f.get("quiet_hours"), r, top)
	if n := f.get("blackout_dates"); n != nil {
		r.blackouts = pp.blackouts(n)
	}
}

// where names the rule in messages: "caps" or "regions.US-FL.caps".
func (r *policyRule) where(key string) string {
	if r.name == "" {
		return key
	}
	if strings.Contains(r.name, "-") {
		return "regions." + r.name + "." + key
	}
	return "countries." + r.name + "." + key
}

func (pp *policyParser) caps(n *yaml.Node, r *policyRule, top bool) {
	if n == nil {
		return
	}
	if r.caps == nil {
		r.caps = map[capKey][]Cap{}
	}
	pp.eachChannel(n, r.where("caps"), func(ch Channel, cn *yaml.Node, where string) {
		if pp.isNone(cn, where, top) {
			for _, cl := range classNames {
				delete(r.caps, capKey{ch, Class(cl)})
			}
			return
		}
		byClass, _ := pp.mapping(cn, where, classNames)
		for _, cl := range classNames {
			if v := byClass.get(cl); v != nil {
				k := capKey{ch, Class(cl)}
				delete(r.caps, k)
				if !pp.isNone(v, where+"."+cl, top) {
					r.caps[k] = pp.capList(v, where+"."+cl, r.name)
				}
			}
		}
	})
}

// eachChannel calls fn with each channel a mapping keyed by channel names
// holds, its value and where it is ("caps.sms").
func (pp *policyParser) eachChannel(n *yaml.Node, where string, fn func(ch Channel, v *yaml.Node, where string)) {
	byChannel, _ := pp.mapping(n, where, channelNames)
	for _, ch := range channelNames {
		if v := byChannel.get(ch); v != nil {
			fn(Channel(ch), v, where+"."+ch)
		}
	}
}

// isNone reports whether n is the word none, which only the top level may
// use (a country or region adds to the top level, it never lifts it).
func (pp *policyParser) isNone(n *yaml.Node, where string, top bool) bool {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Value != none {
		return false
	}
	if !top {
		pp.errorf(n, "%s: none is for the top level (it removes a default); a country or region adds rules to the top level and cannot lift them: leave the key out", where)
	}
	return true
}

var capRE = regexp.MustCompile(`^\s*(\S+)\s+per\s+(\S+)\s*$`)

// matches reads one text value or a list of them, each matching re (else an
// error at it saying what to write): the submatches with the item's node.
func (pp *policyParser) matches(n *yaml.Node, where string, re *regexp.Regexp, what string) (items []*yaml.Node, subs [][]string) {
	for _, item := range pp.list(n, where) {
		s, ok := pp.str(item, where)
		if !ok {
			continue
		}
		if m := re.FindStringSubmatch(s); m != nil {
			items, subs = append(items, item), append(subs, m)
			continue
		}
		pp.errorf(item, "%s: %q is not %s", where, s, what)
	}
	return items, subs
}

// capList reads one cap ("3 per 7d") or a list of them.
func (pp *policyParser) capList(n *yaml.Node, where, scope string) []Cap {
	var out []Cap
	items, subs := pp.matches(n, where, capRE, `a cap; write a count and a window, e.g. "3 per 7d" or "10 per 24h"`)
	for i, item := range items {
		m := subs[i]
		count, err := strconv.Atoi(m[1])
		if err != nil || count < 1 {
			pp.errorf(item, "%s: %q: the count must be a whole number of at least 1 (none removes a cap)", where, m[1])
			continue
		}
		per, err := ParseDuration(m[2])
		if err != nil || per < time.Minute || per > maxCapWindow {
			pp.errorf(item, "%s: %q: the window must be a duration from 1m to 366d, such as 24h or 7d", where, m[2])
			continue
		}
		out = append(out, Cap{Max: count, Per: per, Scope: scope})
	}
	return out
}

func (pp *policyParser) quietHours(n *yaml.Node, r *policyRule, top bool) {
	if n == nil {
		return
	}
	if r.quiet == nil {
		r.quiet = map[Channel]quietSet{}
	}
	pp.eachChannel(n, r.where("quiet_hours"), func(ch Channel, v *yaml.Node, where string) {
		delete(r.quiet, ch)
		if pp.isNone(v, where, top) {
			return
		}
		r.quiet[ch] = windowSet(pp.windows(v, where))
		if pp.quietAt[r] == nil {
			pp.quietAt[r] = map[Channel]*yaml.Node{}
		}
		pp.quietAt[r][ch] = v
	})
}

var windowRE = regexp.MustCompile(`^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$`)

// windows reads one quiet window ("21:00-08:00") or a list of them.
func (pp *policyParser) windows(n *yaml.Node, where string) []Window {
	var out []Window
	items, subs := pp.matches(n, where, windowRE, `a window; write when quiet hours start and end, e.g. "21:00-08:00"`)
	for i, item := range items {
		m := subs[i]
		from, err1 := ParseClock(m[1])
		to, err2 := ParseClock(m[2])
		if err := errors.Join(err1, err2); err != nil {
			pp.errorf(item, "%s: %v", where, err)
			continue
		}
		if from == to {
			pp.errorf(item, "%s: %q starts and ends at the same time; a window of the whole day leaves no time to send", where, item.Value)
			continue
		}
		out = append(out, Window{From: from, To: to})
	}
	return out
}

// blackouts reads blackout_dates: dates, yearly dates and ranges, alone or
// with the channels and classes they hold.
func (pp *policyParser) blackouts(n *yaml.Node) []Blackout {
	var out []Blackout
	for _, item := range pp.list(n, "blackout_dates") {
		b := Blackout{Classes: []Class{ClassPromotional}}
		datesNode := item
		if item.Kind == yaml.MappingNode {
			f, _ := pp.mapping(item, "blackout_dates entry", blackoutKeys)
			if datesNode = f.get("dates"); datesNode == nil {
				pp.errorf(item, "a blackout_dates entry needs dates (e.g. dates: 2026-12-25)")
				continue
			}
			if c := f.get("channels"); c != nil {
				b.Channels = words[Channel](pp, c, "blackout_dates.channels", channelNames)
			}
			if c := f.get("classes"); c != nil {
				b.Classes = words[Class](pp, c, "blackout_dates.classes", classNames)
			}
		}
		s, ok := pp.str(datesNode, "blackout_dates")
		if !ok {
			continue
		}
		if err := b.parseDates(s); err != nil {
			pp.errorf(datesNode, "blackout_dates: %v", err)
			continue
		}
		out = append(out, b)
	}
	return out
}

// words reads a list of allowed words.
func words[T ~string](pp *policyParser, n *yaml.Node, what string, allowed []string) []T {
	var out []T
	for _, item := range pp.list(n, what) {
		if s, ok := pp.oneOf(item, what, allowed...); ok && !slices.Contains(out, T(s)) {
			out = append(out, T(s))
		}
	}
	return out
}

// parseDates reads "2026-12-25", "12-25" (every year) or a range of either
// form, "2026-12-24..2026-12-26".
func (b *Blackout) parseDates(s string) error {
	from, to, isRange := strings.Cut(strings.TrimSpace(s), "..")
	if !isRange {
		to = from
	}
	var yearly [2]bool
	var err error
	if b.From, yearly[0], err = parseDay(from); err != nil {
		return err
	}
	if b.To, yearly[1], err = parseDay(to); err != nil {
		return err
	}
	switch {
	case yearly[0] != yearly[1]:
		return fmt.Errorf("%q mixes a date and a yearly day; write both as 2026-12-24 or both as 12-24", s)
	case !yearly[0] && b.To.Before(b.From):
		return fmt.Errorf("%q ends before it starts", s)
	}
	b.Yearly = yearly[0]
	return nil
}

// parseDay reads a date (2026-12-25) or a yearly day (12-25).
func parseDay(s string) (time.Time, bool, error) {
	s = strings.TrimSpace(s)
	if d, err := time.Parse("2006-01-02", s); err == nil {
		return d, false, nil
	}
	d, err := time.Parse("01-02", s)
	switch {
	case err != nil:
		return time.Time{}, false, fmt.Errorf("%q is not a date; write 2026-12-25, 12-25 for every year, or a range 2026-12-24..2026-12-26", s)
	case d.Month() == time.February && d.Day() == 29:
		return time.Time{}, false, fmt.Errorf("%q recurs only in leap years; write the date with its year", s)
	}
	return d, true, nil
}

// places reads countries or regions: each key a code that code checks, each
// value a rule.
func (pp *policyParser) places(n *yaml.Node, what string, code func(*yaml.Node) bool) map[string]*policyRule {
	if n == nil {
		return nil
	}
	f, ok := pp.mapping(n, what, nil)
	if !ok || len(f.val) == 0 {
		return nil
	}
	out := map[string]*policyRule{}
	for _, name := range slices.Sorted(maps.Keys(f.val)) {
		if !code(f.key[name]) {
			continue
		}
		r := &policyRule{name: name}
		rf, _ := pp.mapping(f.val[name], what+"."+name, policyRuleKeys)
		pp.rule(rf, r, false)
		out[name] = r
	}
	return out
}

// countryCode checks a countries key: an ISO 3166-1 alpha-2 code that phone
// numbers can have.
func (pp *policyParser) countryCode(k *yaml.Node) bool {
	if phonenumbers.GetSupportedRegions()[k.Value] {
		return true
	}
	codes := slices.Sorted(maps.Keys(phonenumbers.GetSupportedRegions()))
	hint := didYouMean(k.Value, codes)
	if up := strings.ToUpper(k.Value); up != k.Value && phonenumbers.GetSupportedRegions()[up] {
		hint = fmt.Sprintf("; did you mean %q?", up)
	}
	pp.errorf(k, "countries: %q is not a country code%s (ISO 3166-1 alpha-2 in capitals, e.g. US, FR, GB)", k.Value, hint)
	return false
}

// regionCode checks a regions key: a US state whose area codes are known.
func (pp *policyParser) regionCode(k *yaml.Node) bool {
	if usStates()[k.Value] {
		return true
	}
	country, _, _ := strings.Cut(k.Value, "-")
	if !strings.EqualFold(country, "US") {
		pp.errorf(k, "regions: %q: only US states can be told from a phone number (by its area code); write US-XX, e.g. US-FL, "+
			"and put other places under countries", k.Value)
		return false
	}
	codes := slices.Sorted(maps.Keys(usStates()))
	pp.errorf(k, "regions: %q is not a US state%s (write US- and the postal code in capitals, e.g. US-FL)",
		k.Value, didYouMean(strings.ToUpper(k.Value), codes))
	return false
}

// unknownZone reads unknown_zone: strictest (the default), or per channel
// the windows of customers whose zone is unknown. It reports whether the
// strictest windows apply.
func (pp *policyParser) unknownZone(n *yaml.Node, pol *Policy) bool {
	n = resolve(n)
	if n == nil {
		return true
	}
	if n.Kind == yaml.ScalarNode {
		if n.Value != strictestZone {
			pp.errorf(n, "unknown_zone must be %s, or per channel the windows to use (e.g. {sms: 20:00-09:00}), not %q%s",
				strictestZone, n.Value, didYouMean(n.Value, []string{strictestZone}))
		}
		return true
	}
	if n.Kind != yaml.MappingNode {
		pp.errorf(n, "unknown_zone must be %s or a mapping of channels to windows, not %s", strictestZone, describe(n))
		return true
	}
	pol.unknownZone = map[Channel]quietSet{}
	pp.eachChannel(n, "unknown_zone", func(ch Channel, v *yaml.Node, where string) {
		var s quietSet
		if !pp.isNone(v, where, true) {
			s = windowSet(pp.windows(v, where))
		}
		pol.unknownZone[ch] = s
	})
	return false
}

// checkTimeToSend reports every combination of rules whose quiet windows
// cover the whole day (a message would never go out), at the window that
// completes it.
func (pp *policyParser) checkTimeToSend(pol *Policy, unknownNode *yaml.Node) {
	for _, ch := range []Channel{Email, SMS} {
		top := &pol.top
		full := pp.fullDay(ch, top)
		for _, c := range pol.countries {
			full = pp.fullDay(ch, c, top) || full
		}
		for _, r := range pol.regions {
			if c := pol.countries[strings.SplitN(r.name, "-", 2)[0]]; c != nil {
				full = pp.fullDay(ch, r, c, top) || full
				continue
			}
			full = pp.fullDay(ch, r, top) || full
		}
		if s, ok := pol.unknownZone[ch]; ok && !full && s.quietMinutes() == minutesPerDay {
			at := resolve(unknownNode)
			if at == nil {
				at = pp.root
			}
			pp.errorf(at, "unknown_zone: the quiet hours of every rule together (the strictest window) cover the whole day, so a message on %s to a "+
				"customer whose zone is unknown would never go out; give unknown_zone its own windows, e.g. {%s: 21:00-08:00}", ch, ch)
		}
	}
}

// fullDay reports, at r's window for ch, when r's quiet hours and those of
// the rules r adds to cover the whole day, and whether they do.
func (pp *policyParser) fullDay(ch Channel, r *policyRule, under ...*policyRule) bool {
	s := r.quiet[ch]
	var others []string
	for _, u := range under {
		s = s.union(u.quiet[ch])
		if ws := u.quiet[ch].windows(); len(ws) > 0 {
			others = append(others, fmt.Sprintf("%s %s", u.where("quiet_hours."+string(ch)), describeWindows(ws)))
		}
	}
	n := pp.quietAt[r][ch]
	if s.quietMinutes() < minutesPerDay || n == nil {
		return false
	}
	with := ""
	if len(others) > 0 {
		with = " with " + strings.Join(others, " and ")
	}
	pp.errorf(n, "%s: %s%s covers the whole day, so a message on %s would never go out; leave time to send",
		r.where("quiet_hours."+string(ch)), describeWindows(r.quiet[ch].windows()), with, ch)
	return true
}
