package rules

import (
	"errors"
	"strings"
	"testing"
)

// TestSubscribedIsCheckedAtLoad: subscribed names a configured topic in
// quotes, or the rule does not load, with the column of the mistake.
func TestSubscribedIsCheckedAtLoad(t *testing.T) {
	t.Parallel()
	topics := Options{Topics: []string{"newsletter", "offers"}}
	cases := []struct {
		src, want string
		col       int
		opt       Options
	}{
		{`subscribed("newsleter")`, `"newsleter" is not a configured topic; did you mean "newsletter"?`, 12, topics},
		{`subscribed("zzz")`, `(topics: "newsletter", "offers")`, 12, topics},
		{`subscribed("newsletter")`, `none are configured (TIDINGS_TOPICS)`, 12, Options{}},
		{`subscribed(first_name)`, `subscribed takes the topic in quotes`, 12, topics},
		{`subscribed("a", "b")`, `subscribed takes one topic in quotes`, 1, topics},
	}
	for _, c := range cases {
		_, err := CompileWith(c.src, c.opt)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Message, c.want) || e.Column != c.col {
			t.Errorf("%s: got %v (column %d), want %q at column %d", c.src, err, colOf(e), c.want, c.col)
		}
	}
	p, err := CompileWith(`orders_count > 0 && subscribed("offers")`, topics)
	if err != nil || !p.ReadsTopics() {
		t.Fatalf("a valid rule: %v, reads topics %v", err, p != nil && p.ReadsTopics())
	}
	if q, _ := Compile(`orders_count > 0`); q.ReadsTopics() {
		t.Error("a rule without subscribed reads topics")
	}
}

func colOf(e *Error) int {
	if e == nil {
		return 0
	}
	return e.Column
}

// TestSubscribedNeedsTheOptOuts: an Env given no opt-outs fails the rule
// instead of reading everyone as subscribed; ClearCustomer forgets the
// previous customer's.
func TestSubscribedNeedsTheOptOuts(t *testing.T) {
	t.Parallel()
	p, err := CompileWith(`subscribed("newsletter")`, Options{Topics: []string{"newsletter"}})
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(nil)
	if _, err := p.Eval(env); !errors.Is(err, errNoOptOuts) {
		t.Fatalf("no opt-outs given: %v, want errNoOptOuts", err)
	}
	SetOptOuts(env, []string{"newsletter"})
	if ok, err := p.Eval(env); ok || err != nil {
		t.Fatalf("opted out: %v, %v; want false", ok, err)
	}
	SetOptOuts(env, nil)
	if ok, err := p.Eval(env); !ok || err != nil {
		t.Fatalf("no opt-out: %v, %v; want true", ok, err)
	}
	ClearCustomer(env)
	if _, err := p.Eval(env); !errors.Is(err, errNoOptOuts) {
		t.Fatalf("after ClearCustomer: %v, want errNoOptOuts", err)
	}
}
