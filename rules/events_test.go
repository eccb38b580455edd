package rules

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestHistoryFunctionsAreCheckedAtLoad: the event history functions take
// literal, well-formed arguments, and a mistake is an error at its column.
func TestHistoryFunctionsAreCheckedAtLoad(t *testing.T) {
	t.Parallel()
	cases := []struct {
		src  string
		col  int
		want string
	}{
		{`count_events("product_viewed") > 1`, 1, "takes 2 arguments"},
		{`count_events(first_name, "7d") > 1`, 14, "event type in quotes"},
		{`count_events("Product Viewed", "7d") > 1`, 14, "is not an event type"},
		{`count_events("product_viewed", "7 days") > 1`, 32, "whole number of days"},
		{`count_events("product_viewed", "0d") > 1`, 32, "whole number of days"},
		{`count_events("product_viewed", "99999d") > 1`, 32, "longer than 10 years"},
		{`last_event("signup") > 3`, 22, "mismatched types"}, // a time is not a number
		{`days_since_event(locale) < 30`, 18, "event type in quotes"},
	}
	for _, c := range cases {
		_, err := Compile(c.src)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: compiled, want an error", c.src)
			continue
		}
		if e.Column != c.col || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: %d:%d %s; want column %d and %q", c.src, e.Line, e.Column, e.Message, c.col, c.want)
		}
	}
}

// TestEventUsesAndEval: a rule lists what it reads of the history, reads
// the history it is given, and refuses to run without one.
func TestEventUsesAndEval(t *testing.T) {
	t.Parallel()
	p, err := Compile(`count_events("product_viewed", "7d") >= 3 && days_since_event("signup") < 30 &&
		count_events("product_viewed", "7d") < 10 && last_event("cart_updated") < now`)
	if err != nil {
		t.Fatal(err)
	}
	uses := p.EventUses()
	want := []EventUse{{Type: "product_viewed", Window: "7d", Span: 7 * day}, {Type: "signup"}, {Type: "cart_updated"}}
	if !slices.Equal(uses, want) {
		t.Fatalf("uses = %+v, want %+v", uses, want)
	}
	env := NewEnv(nil)
	env.Now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := p.Eval(env); !errors.Is(err, errNoHistory) {
		t.Fatalf("without history: %v, want errNoHistory", err)
	}
	h := &History{}
	h.Reset(uses)
	SetHistory(env, h)
	h.Counts[0], h.Last[1] = 3, env.Now.Add(-29*day)
	if ok, err := p.Eval(env); !ok || err != nil {
		t.Fatalf("3 views, signed up 29 days ago: %v %v, want true", ok, err)
	}
	h.Last[1] = env.Now.Add(-31 * day)
	if ok, _ := p.Eval(env); ok {
		t.Fatal("signed up 31 days ago matched")
	}
	h.Reset(uses) // no events at all: days_since_event is -1, which is < 30
	if ok, _ := p.Eval(env); ok {
		t.Fatal("no views matched count_events >= 3")
	}
	if MergeUses(uses, []EventUse{{Type: "signup"}, {Type: "nps_answered"}})[3].Type != "nps_answered" {
		t.Fatal("MergeUses lost a use")
	}
}
