package rules

import (
	"fmt"

	"github.com/expr-lang/expr/ast"
)

// A rule runs once per customer, so a rule whose loops do millions of steps
// turns a campaign over a large audience into hours of CPU. The compiler
// estimates the steps of the rule's loops (all, any, filter, count, map...
// over ranges and lists) before anything runs and rejects a rule over the
// limit at load, pointing at the loop that makes it too slow. The run-time
// memory budget still guards what cannot be known at load (ranges whose
// bounds come from customer data).
const (
	// DefaultMaxSteps caps the estimated loop steps of one evaluation.
	DefaultMaxSteps = 10_000
	// listGuess is the assumed length of a list whose length is only known
	// at run time (tags, event items); real ones hold a handful.
	listGuess = 50
	// rangeGuess is the assumed length of a range whose bounds are only
	// known at run time (1..orders_count).
	rangeGuess = 1_000
)

// loopCost walks a rule's tree and estimates how many times its nodes run.
type loopCost struct {
	limit int
	total int
	worst ast.Node // the loop at which the steps first exceed limit
}

// stepsError returns an *Error when the rule's estimated steps exceed limit.
func stepsError(src string, tree ast.Node, limit int) *Error {
	lc := &loopCost{limit: limit}
	lc.walk(tree, 1)
	if lc.total <= limit {
		return nil
	}
	from := 0
	if lc.worst != nil {
		from = lc.worst.Location().From
	}
	return errorAt(src, from, "rule is too slow: its loops take about %s steps per customer, limit %s; "+
		"avoid nesting loops (all, any, filter, map...) over long ranges or lists", approx(lc.total), approx(limit))
}

// walk adds the cost of n run mult times, and of its children.
func (lc *loopCost) walk(n ast.Node, mult int) {
	if n == nil {
		return
	}
	lc.total = satAdd(lc.total, mult)
	switch n := n.(type) {
	case *ast.BuiltinNode:
		for i, arg := range n.Arguments {
			if p, ok := arg.(*ast.PredicateNode); ok && i > 0 {
				inner := satMul(mult, lc.length(n.Arguments[0]))
				if inner > lc.limit && lc.worst == nil {
					lc.worst = n
				}
				lc.walk(p.Node, inner)
				continue
			}
			lc.walk(arg, mult)
		}
	case *ast.BinaryNode:
		if n.Operator == ".." {
			// Building a range costs its length.
			lc.total = satAdd(lc.total, satMul(mult, lc.length(n)))
		}
		lc.walk(n.Left, mult)
		lc.walk(n.Right, mult)
	case *ast.UnaryNode:
		lc.walk(n.Node, mult)
	case *ast.ChainNode:
		lc.walk(n.Node, mult)
	case *ast.MemberNode:
		lc.walk(n.Node, mult)
		lc.walk(n.Property, mult)
	case *ast.SliceNode:
		lc.walk(n.Node, mult)
		lc.walk(n.From, mult)
		lc.walk(n.To, mult)
	case *ast.CallNode:
		lc.walk(n.Callee, mult)
		lc.walkAll(n.Arguments, mult)
	case *ast.PredicateNode:
		lc.walk(n.Node, mult)
	case *ast.ConditionalNode:
		lc.walk(n.Cond, mult)
		lc.walk(n.Exp1, mult)
		lc.walk(n.Exp2, mult)
	case *ast.VariableDeclaratorNode:
		lc.walk(n.Value, mult)
		lc.walk(n.Expr, mult)
	case *ast.SequenceNode:
		lc.walkAll(n.Nodes, mult)
	case *ast.ArrayNode:
		lc.walkAll(n.Nodes, mult)
	case *ast.MapNode:
		lc.walkAll(n.Pairs, mult)
	case *ast.PairNode:
		lc.walk(n.Key, mult)
		lc.walk(n.Value, mult)
	}
}

func (lc *loopCost) walkAll(nodes []ast.Node, mult int) {
	for _, c := range nodes {
		lc.walk(c, mult)
	}
}

// length estimates how many elements a loop's collection has.
func (lc *loopCost) length(n ast.Node) int {
	switch n := n.(type) {
	case *ast.BinaryNode:
		if n.Operator == ".." {
			lo, okLo := constInt(n.Left)
			hi, okHi := constInt(n.Right)
			if okLo && okHi {
				return max(hi-lo+1, 0)
			}
			return rangeGuess
		}
	case *ast.ArrayNode:
		return len(n.Nodes)
	case *ast.BuiltinNode:
		// filter/map/sort of a collection is no longer than the collection.
		if len(n.Arguments) > 0 {
			return lc.length(n.Arguments[0])
		}
	}
	return listGuess
}

// constInt returns the value of an integer literal (possibly negated).
func constInt(n ast.Node) (int, bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		return n.Value, true
	case *ast.UnaryNode:
		if v, ok := constInt(n.Node); ok && n.Operator == "-" {
			return -v, true
		}
	}
	return 0, false
}

// satAdd and satMul saturate instead of overflowing on absurd rules.
func satAdd(a, b int) int {
	if a > maxSteps-b {
		return maxSteps
	}
	return a + b
}

func satMul(a, b int) int {
	if a != 0 && b > maxSteps/a {
		return maxSteps
	}
	return a * b
}

const maxSteps = 1 << 62

// approx prints a step count for people: 1,001,000 as "1.0 million".
func approx(n int) string {
	switch {
	case n >= maxSteps:
		return "more than a billion billion"
	case n >= 1_000_000_000:
		return fmt.Sprintf("%.1f billion", float64(n)/1e9)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f million", float64(n)/1e6)
	case n >= 1_000:
		return fmt.Sprintf("%d,%03d", n/1000, n%1000)
	}
	return fmt.Sprint(n)
}
