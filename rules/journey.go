package rules

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
)

// Journey is what a journey's branch rules read about the customer's way
// through the journey since they entered it, as `journey.<name>`. Only a
// rule compiled with Options.Journey may read it: an audience rule has no
// journey. The journey engine fills it for each customer, after the
// customer's own fields (ClearCustomer zeroes it with them).
type Journey struct {
	EnteredAt time.Time `expr:"entered_at"` // when the customer entered this occurrence of the journey
	Purchases int       `expr:"purchases"`  // purchases since entry
	Revenue   float64   `expr:"revenue"`    // their total amount
	Arm       string    `expr:"arm"`        // the split arm taken, "" before any split
	// Sent reports whether the send step with this id wrote a ledger row
	// that reached sent. A rule names the step in quotes, checked at load
	// against Options.SendSteps.
	Sent func(step string) bool `expr:"sent"`
}

// journeyName is the Env name of Journey.
const journeyName = "journey"

// errNoJourney reports a journey rule evaluated on an Env whose Journey was
// not filled in.
var errNoJourney = errors.New("rules: the rule calls journey.sent but the Env's Journey has no Sent; fill Env.Journey before evaluating")

// nestedFunc reports whether a member read (journey.sent) names a function
// field of a struct of Env, which a rule may call like a function.
func nestedFunc(n *ast.MemberNode) (string, bool) {
	id, ok := n.Node.(*ast.IdentifierNode)
	prop, isConst := n.Property.(*ast.StringNode)
	if !ok || !isConst {
		return "", false
	}
	path := id.Value + "." + prop.Value
	return path, envCatalog().nestedFuncs[path]
}

// journeyIdent refuses `journey` in a rule that is not a journey's.
func (p *policy) journeyIdent(n *ast.IdentifierNode) {
	if n.Value == journeyName && !p.opt.Journey {
		p.fail(n, "journey is only available in the branch rules of a journey's steps")
	}
}

// journeyCall checks a call of journey.sent: one step id, in quotes, naming
// a send step of the journey (Options.SendSteps).
func (p *policy) journeyCall(n *ast.CallNode, path string) {
	p.usesJourney = true
	if len(n.Arguments) != 1 {
		p.fail(n, "%s takes one send step id in quotes, e.g. %s(\"first-email\")", path, path)
		return
	}
	arg, ok := n.Arguments[0].(*ast.StringNode)
	if !ok {
		p.fail(n.Arguments[0], "%s takes a send step id in quotes, e.g. %s(\"first-email\")", path, path)
		return
	}
	if slices.Contains(p.opt.SendSteps, arg.Value) {
		return
	}
	sugg := suggest(arg.Value, p.opt.SendSteps)
	if p.fail(arg, "%s: %q is not a send step of this journey%s", path, arg.Value, sendStepsHint(p.opt.SendSteps, sugg)) {
		p.first.Suggestions = sugg
	}
}

// sendStepsHint is a did-you-mean, or the send steps there are.
func sendStepsHint(steps, sugg []string) string {
	switch {
	case len(sugg) > 0:
		return didYouMean(sugg)
	case len(steps) == 0:
		return " (it has none)"
	}
	q := make([]string, len(steps))
	for i, s := range steps {
		q[i] = strconv.Quote(s)
	}
	return " (send steps: " + strings.Join(q, ", ") + ")"
}
