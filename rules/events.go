package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
)

// A rule reads the customer's event history (the events log the events API
// fills) through three functions, each named with literal arguments so that
// what a rule reads is known when it loads:
//
//	count_events("product_viewed", "7d")  events of the type in the last 7 days, up to now
//	last_event("cart_updated")            the time of the latest one up to now (zero when none)
//	days_since_event("signup")            whole days since then, -1 when none
//
// The engine does not query per customer: it reads the history of a whole
// page of customers in one query (Program.EventUses says what to read) and
// hands each customer's to the Env with SetHistory.

// EventUse is one piece of history a rule reads: a count of an event type
// over a window (Window set), or the type's latest time (Window "").
type EventUse struct {
	Type   string
	Window string        // as written, e.g. "7d"; "" for last_event and days_since_event
	Span   time.Duration // Window parsed
}

// History is one customer's event history for the uses of the rules being
// evaluated: Counts[i] and Last[i] answer Uses[i] (a count or a latest
// time). The engine keeps one per Env and refills it per customer.
type History struct {
	Uses   []EventUse
	Counts []int
	Last   []time.Time
}

// Reset sizes h for uses and zeroes it: no events.
func (h *History) Reset(uses []EventUse) {
	h.Uses = uses
	h.Counts = slices.Grow(h.Counts[:0], len(uses))[:len(uses)]
	h.Last = slices.Grow(h.Last[:0], len(uses))[:len(uses)]
	clear(h.Counts)
	clear(h.Last)
}

// SetHistory gives env the customer's event history (nil: none read, and a
// rule calling count_events & co. fails instead of counting nothing). A
// function, not a method: Env has none (expr would expose them).
func SetHistory(env *Env, h *History) { env.history = h }

// errNoHistory reports a rule reading event history on an Env given none.
var errNoHistory = errors.New("rules: the rule reads the event history (count_events, last_event, days_since_event) but the Env has none; read it (Program.EventUses) and call SetHistory")

// count, last and daysSince answer the Env's functions from its history;
// a use the history lacks reads as no events.
func (h *History) count(typ, window string) int {
	for i, u := range h.Uses {
		if u.Window == window && u.Type == typ {
			return h.Counts[i]
		}
	}
	return 0
}

func (h *History) last(typ string) time.Time {
	for i, u := range h.Uses {
		if u.Window == "" && u.Type == typ {
			return h.Last[i]
		}
	}
	return time.Time{}
}

// installHistory sets the history functions of a NewEnv Env.
func installHistory(e *Env) {
	e.CountEvents = func(typ, window string) int {
		if e.history == nil {
			panic(errNoHistory)
		}
		return e.history.count(typ, window)
	}
	e.LastEvent = func(typ string) time.Time {
		if e.history == nil {
			panic(errNoHistory)
		}
		return e.history.last(typ)
	}
	e.DaysSinceEvent = func(typ string) int { return e.DaysSince(e.LastEvent(typ)) }
}

// eventTypeRE is what an event type looks like (the events API's rule).
var eventTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// historyFuncs are the functions that read the history, with their
// argument count.
var historyFuncs = map[string]int{"count_events": 2, "last_event": 1, "days_since_event": 1}

// historyCall checks a call of count_events, last_event or
// days_since_event: literal arguments, a well-formed type, a window that
// parses; it records the use.
func (p *policy) historyCall(n *ast.CallNode, name string) {
	want := historyFuncs[name]
	example := name + `("cart_updated")`
	if want == 2 {
		example = name + `("product_viewed", "7d")`
	}
	if len(n.Arguments) != want {
		p.fail(n, "%s takes %d arguments in quotes, e.g. %s", name, want, example)
		return
	}
	typ, ok := n.Arguments[0].(*ast.StringNode)
	if !ok {
		p.fail(n.Arguments[0], "%s takes the event type in quotes, e.g. %s", name, example)
		return
	}
	if !eventTypeRE.MatchString(typ.Value) {
		p.fail(typ, "%q is not an event type: lowercase letters, digits and _, starting with a letter, e.g. %s", typ.Value, example)
		return
	}
	use := EventUse{Type: typ.Value}
	if want == 2 {
		w, ok := n.Arguments[1].(*ast.StringNode)
		if !ok {
			p.fail(n.Arguments[1], "%s takes the window in quotes, e.g. %s", name, example)
			return
		}
		span, err := parseWindow(w.Value)
		if err != nil {
			p.fail(w, "%s: %v", name, err)
			return
		}
		use.Window, use.Span = w.Value, span
	}
	if !slices.Contains(p.events, use) {
		p.events = append(p.events, use)
	}
}

// maxWindow bounds a count's window: longer than any retention.
const maxWindow = 10 * 366 * 24 * time.Hour

// parseWindow reads a window: a whole number of days, hours or minutes
// ("7d", "24h", "90m").
func parseWindow(s string) (time.Duration, error) {
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute}
	if len(s) < 2 || unit[s[len(s)-1]] == 0 {
		return 0, fmt.Errorf("window %q: write a whole number of days, hours or minutes, e.g. \"7d\", \"24h\", \"90m\"", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s[:len(s)-1]))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("window %q: write a whole number of days, hours or minutes, e.g. \"7d\", \"24h\", \"90m\"", s)
	}
	d := time.Duration(n) * unit[s[len(s)-1]]
	if d > maxWindow || d/time.Duration(n) != unit[s[len(s)-1]] {
		return 0, fmt.Errorf("window %q is longer than 10 years", s)
	}
	return d, nil
}

// EventUses lists what the rule reads of the event history, in the order
// first written; nil when nothing.
func (p *Program) EventUses() []EventUse { return slices.Clone(p.events) }

// MergeUses is the union of several rules' uses, in order: what one
// history read must fetch for all of them.
func MergeUses(lists ...[]EventUse) []EventUse {
	var out []EventUse
	for _, l := range lists {
		for _, u := range l {
			if !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}
