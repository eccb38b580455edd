package rules

import (
	"fmt"

	"github.com/expr-lang/expr/ast"
)

// validate applies the rules' own checks inside expr.Compile, as a patcher
// that changes nothing. expr runs patchers after parsing and a first type
// pass, then type-checks for good, so validate sees the tree as parsed with
// its types, and sorts what it finds around expr's verdict the way rule
// authors expect it: size, policy and loop cost first (a forbidden or too slow
// rule is reported as such even if it is also ill-typed), then expr's
// error, then what needs a well-typed rule (methods, the result type,
// unknown literal values).
type validate struct {
	src       string
	opt       Options
	mark      *rootMark
	pre, post *Error
	usesFuncs bool // the rule calls an Env function
	// usesJourney: the rule calls journey.sent, so Env.Journey must be filled.
	usesJourney bool
	events      []EventUse // the event history it reads
	topics      bool       // the rule calls subscribed
	ran         bool       // the checks ran, on the whole rule
}

// notValidated reports an expr that compiled a rule without letting
// validate see all of it: rules would otherwise accept rules they forbid.
const notValidated = "rules: expr compiled the rule without running its checks on the whole rule " +
	"(has an expr upgrade changed how patchers run?)"

func newValidator(src string, opt Options) *validate {
	return &validate{src: src, opt: opt, mark: &rootMark{}}
}

// rootMark records the root of the tree it walks: ast.Walk visits a node's
// children before the node, so the last node visited is the root. It is
// patched in before validate, which runs its checks once, at that root
// (after making sure it is the root: its tree has every node).
type rootMark struct {
	root  *ast.Node
	nodes nodeCounter
}

// Visit implements ast.Visitor.
func (r *rootMark) Visit(node *ast.Node) { r.root, r.nodes = node, r.nodes+1 }

// Visit implements ast.Visitor; it checks the whole rule at its root.
func (v *validate) Visit(node *ast.Node) {
	if node != v.mark.root {
		return
	}
	var n nodeCounter
	ast.Walk(node, &n)
	if v.ran = n == v.mark.nodes; !v.ran {
		return
	}
	if int(n) > v.opt.MaxNodes {
		v.pre = &Error{Line: 1, Column: 1, Message: fmt.Sprintf(
			"rule is too large: %d nodes, limit %d; split it or simplify", n, v.opt.MaxNodes)}
		return
	}
	pol := &policy{src: v.src, opt: v.opt}
	ast.Walk(node, pol)
	v.usesFuncs, v.usesJourney, v.events, v.topics = pol.usesFuncs, pol.usesJourney, pol.events, pol.topics
	if v.pre = pol.first; v.pre != nil {
		return
	}
	if v.pre = stepsError(v.src, *node, v.opt.MaxSteps); v.pre != nil {
		return
	}
	mc := &methodCheck{policy{src: v.src}}
	ast.Walk(node, mc)
	if v.post = mc.first; v.post != nil {
		return
	}
	if v.post = resultError(v.src, (*node).Type()); v.post != nil {
		return
	}
	v.post = checkValues(v.src, *node, v.opt.Segments)
}
