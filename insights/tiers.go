package insights

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Tiers are a loyalty program's levels (silver, gold...), defined in a
// tiers file (TIDINGS_TIERS, docs/intelligence.md):
//
//	measure: spend    # spend (currency units) or orders, summed over the window
//	window: 365d      # the rolling window the threshold applies to
//	grace: 90d        # how long a customer keeps a tier after falling below it
//	tiers:            # lowest first; the first is the entry tier, min 0
//	  - {name: member, min: 0}
//	  - {name: silver, min: 100}
//	  - {name: gold, min: 500}
//
// A buyer's tier at a clock is the highest tier whose min their window
// total met at some moment of the grace period before the clock (at least
// the entry tier): an upgrade applies at once, a downgrade only once the
// customer has stayed below the tier for the whole grace period. A
// prospect has no tier (""). Defined so, the tier follows from the
// purchases alone (no stored state), and a backtest as of any date computes
// the tier a refresh on that date would have stored.
type Tiers struct {
	Measure string        // "spend" or "orders"
	Window  time.Duration // > 0
	Grace   time.Duration // >= 0
	Levels  []TierLevel   // lowest first, strictly increasing Min
}

// TierLevel is one tier: its name and the window total that qualifies for
// it (currency units for spend, orders for orders).
type TierLevel struct {
	Name string  `yaml:"name"`
	Min  float64 `yaml:"min"`
}

// TierPurchase is what Tiers reads of one purchase.
type TierPurchase struct {
	At    time.Time
	Cents int64
}

// Names returns the tier names, lowest first.
func (t *Tiers) Names() []string {
	out := make([]string, len(t.Levels))
	for i, l := range t.Levels {
		out[i] = l.Name
	}
	return out
}

// Of returns the tier of a customer whose purchases (oldest first, none
// after now) are ps, as of now; "" below the lowest tier.
func (t *Tiers) Of(ps []TierPurchase, now time.Time) string {
	if len(ps) == 0 {
		return ""
	}
	from := now.Add(-t.Grace)
	best := t.totalAt(ps, now)
	consider := func(e time.Time) {
		if !e.Before(from) && !e.After(now) {
			best = max(best, t.totalAt(ps, e))
		}
	}
	consider(from)
	for _, p := range ps {
		consider(p.At)               // a purchase enters the window
		consider(p.At.Add(t.Window)) // a refund leaves it
	}
	level := t.Levels[0].Name
	for _, l := range t.Levels[1:] {
		if best >= l.Min {
			level = l.Name
		}
	}
	return level
}

// totalAt is the window total ending at e: purchases in (e - Window, e].
func (t *Tiers) totalAt(ps []TierPurchase, e time.Time) float64 {
	start := e.Add(-t.Window)
	var cents int64
	n := 0
	for _, p := range ps {
		if p.At.After(start) && !p.At.After(e) {
			cents += p.Cents
			n++
		}
	}
	if t.Measure == "orders" {
		return float64(n)
	}
	return float64(cents) / 100
}

// Direction is "up" when to ranks above from among the tiers (names, lowest
// first), else "down"; a name not in names ranks below every tier.
func Direction(names []string, from, to string) string {
	rank := func(s string) int {
		for i, n := range names {
			if n == s {
				return i
			}
		}
		return -1
	}
	if rank(to) > rank(from) {
		return "up"
	}
	return "down"
}

// Fingerprint identifies the definition: a refresh whose previous one ran
// under another definition re-bases the tiers without recording changes
// (moving everyone to a new program is not an upgrade of each).
func (t *Tiers) Fingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s/%s", t.Measure, t.Window, t.Grace)
	for _, l := range t.Levels {
		fmt.Fprintf(&b, "/%s=%g", l.Name, l.Min)
	}
	return b.String()
}

var tierName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// ParseTiers reads a tiers file; errors name the line and what to write.
func ParseTiers(data []byte) (*Tiers, error) {
	var raw struct {
		Measure string      `yaml:"measure"`
		Window  string      `yaml:"window"`
		Grace   string      `yaml:"grace"`
		Tiers   []TierLevel `yaml:"tiers"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("insights: tiers: %w (keys: measure, window, grace, tiers)", err)
	}
	t := &Tiers{Measure: raw.Measure, Levels: raw.Tiers}
	if t.Measure == "" {
		t.Measure = "spend"
	}
	if t.Measure != "spend" && t.Measure != "orders" {
		return nil, fmt.Errorf("insights: tiers: measure %q: use spend or orders", raw.Measure)
	}
	var err error
	if t.Window, err = parseDays("window", raw.Window, "365d"); err != nil {
		return nil, err
	}
	if t.Window <= 0 {
		return nil, fmt.Errorf("insights: tiers: window must be at least 1d")
	}
	if t.Grace, err = parseDays("grace", raw.Grace, "0d"); err != nil {
		return nil, err
	}
	if len(t.Levels) == 0 {
		return nil, fmt.Errorf("insights: tiers: no tiers; list them lowest first, e.g. tiers: [{name: member, min: 0}, {name: silver, min: 100}]")
	}
	if t.Levels[0].Min != 0 {
		return nil, fmt.Errorf("insights: tiers: the first tier (%s) is the entry tier every buyer has: give it min: 0 "+
			"(a move from it to the next one is the first upgrade)", t.Levels[0].Name)
	}
	for i, l := range t.Levels {
		switch {
		case !tierName.MatchString(l.Name):
			return nil, fmt.Errorf("insights: tiers: tier %d: name %q: use lower_snake_case such as gold", i+1, l.Name)
		case i > 0 && !(l.Min > 0):
			return nil, fmt.Errorf("insights: tiers: tier %s: min must be > 0, got %g", l.Name, l.Min)
		case i > 0 && l.Min <= t.Levels[i-1].Min:
			return nil, fmt.Errorf("insights: tiers: tier %s: min %g must be above %s's %g (list tiers lowest first)",
				l.Name, l.Min, t.Levels[i-1].Name, t.Levels[i-1].Min)
		}
		for _, m := range t.Levels[:i] {
			if m.Name == l.Name {
				return nil, fmt.Errorf("insights: tiers: tier %s is listed twice", l.Name)
			}
		}
	}
	return t, nil
}

// parseDays reads "90d" (whole days); empty takes def.
func parseDays(key, v, def string) (time.Duration, error) {
	if v == "" {
		v = def
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
	if err != nil || !strings.HasSuffix(v, "d") || n < 0 {
		return 0, fmt.Errorf("insights: tiers: %s %q: write whole days such as 90d", key, v)
	}
	return time.Duration(n) * 24 * time.Hour, nil
}
