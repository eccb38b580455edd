package rules

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// journeyOptions compile a branch rule of a journey whose send steps are
// first-email and nudge.
var journeyOptions = Options{Journey: true, SendSteps: []string{"first-email", "nudge"}}

// TestJourneyRulesReadTheJourney evaluates a branch rule over the journey's
// own history beside the customer's fields.
func TestJourneyRulesReadTheJourney(t *testing.T) {
	p, err := CompileWith(`journey.sent("first-email") && !journey.sent("nudge") && journey.purchases == 0 &&
		journey.revenue < 1 && journey.arm == "b" && days_since(journey.entered_at) >= 3 && orders_count > 1`, journeyOptions)
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(time.UTC)
	env.Now = time.Date(2026, 6, 10, 10, 0, 0, 0, time.UTC)
	env.OrdersCount = 2
	if _, err := p.Eval(env); !errors.Is(err, errNoJourney) {
		t.Fatalf("without the journey filled: %v, want errNoJourney", err)
	}
	sent := map[string]bool{"first-email": true}
	env.Journey = Journey{EnteredAt: env.Now.Add(-72 * time.Hour), Arm: "b", Sent: func(s string) bool { return sent[s] }}
	if ok, err := p.Eval(env); !ok || err != nil {
		t.Fatalf("rule = %v, %v; want true", ok, err)
	}
	sent["nudge"] = true
	if ok, err := p.Eval(env); ok || err != nil {
		t.Fatalf("after the nudge: %v, %v; want false", ok, err)
	}
	ClearCustomer(env)
	if env.Journey.Sent != nil || env.Journey.Arm != "" {
		t.Errorf("ClearCustomer kept the journey: %+v", env.Journey)
	}
}

func TestJourneyRuleErrors(t *testing.T) {
	for _, tc := range []struct {
		rule string
		opt  Options
		col  int
		want string
		sugg []string
	}{
		{`journey.arm == "a"`, Options{}, 1, "journey is only available in the branch rules of a journey's steps", nil},
		{`orders_count > 1 && journey.sent("first-email")`, Options{}, 21, "journey is only available", nil},
		{`journey.sent("frist-email")`, journeyOptions, 14,
			`journey.sent: "frist-email" is not a send step of this journey; did you mean "first-email"?`, []string{"first-email"}},
		{`journey.sent("thank-you")`, journeyOptions, 14,
			`journey.sent: "thank-you" is not a send step of this journey (send steps: "first-email", "nudge")`, nil},
		{`journey.sent(first_name)`, journeyOptions, 14, `journey.sent takes a send step id in quotes, e.g. journey.sent("first-email")`, nil},
		{`journey.sent()`, journeyOptions, 9, "journey.sent takes one send step id in quotes", nil},
		{`journey.purchse > 0`, journeyOptions, 9, `unknown field "purchse" of journey; did you mean "journey.purchases"?`, []string{"journey.purchases"}},
		{`journey.arm`, journeyOptions, 1, "the rule must be true or false", nil},
		{`now.Year() > 2000`, journeyOptions, 5, "only rule functions can be called (methods are not available)", nil},
	} {
		_, err := CompileWith(tc.rule, tc.opt)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: %v, want an *Error", tc.rule, err)
			continue
		}
		if e.Line != 1 || e.Column != tc.col || !strings.HasPrefix(e.Message, tc.want) || !slices.Equal(e.Suggestions, tc.sugg) {
			t.Errorf("%s: %d:%d %q %v; want 1:%d %q %v", tc.rule, e.Line, e.Column, e.Message, e.Suggestions, tc.col, tc.want, tc.sugg)
		}
	}
}

// An audience rule's error lists the functions it may call: journey.sent
// is not one.
func TestFunctionListLeavesOutJourney(t *testing.T) {
	if strings.Contains(funcList(), "journey") {
		t.Errorf("funcList() = %s", funcList())
	}
	if slices.Contains(EnvFields(), "journey") {
		t.Errorf("EnvFields() lists journey, which audience rules cannot read")
	}
}
