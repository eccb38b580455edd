package rules

import (
	"fmt"
	"slices"

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

// stepsError returns an *Error when the rule's estimated steps exceed limit.
//
// Each node of the tree runs once per element of every loop it is in (the
// predicate of all, any, filter, map...), so it costs the product of those
// loops' lengths; building a range costs its length too. The tree is read
// with ast.Walk, which knows every kind of node expr has: only loops (a
// builtin with a predicate) and ranges are looked at by kind, and a kind of
// node a later expr adds still counts, once per run.
func stepsError(src string, tree ast.Node, limit int) *Error {
	var all nodeList
	ast.Walk(&tree, &all)
	runs := make(map[ast.Node]int, len(all))
	for _, n := range all {
		runs[n] = 1
	}
	var loops []loop
	for _, n := range all {
		b, ok := n.(*ast.BuiltinNode)
		if !ok {
			continue
		}
		for i, arg := range b.Arguments {
			if p, ok := arg.(*ast.PredicateNode); ok && i > 0 {
				loops = append(loops, loop{b, p})
				ast.Walk(&p.Node, multiply{runs, length(b.Arguments[0])})
			}
		}
	}
	total := 0
	for _, n := range all {
		if isLoopBody(loops, n) {
			continue // its nodes are counted
		}
		total = satAdd(total, runs[n])
		if r, ok := n.(*ast.BinaryNode); ok && r.Operator == ".." {
			total = satAdd(total, satMul(runs[n], length(r)))
		}
	}
	if total <= limit {
		return nil
	}
	from := 0
	if worst := firstSlowLoop(all, loops, runs, limit); worst != nil {
		from = worst.Location().From
	}
	return errorAt(src, from, "rule is too slow: its loops take about %s steps per customer, limit %s; "+
		"avoid nesting loops (all, any, filter, map...) over long ranges or lists", approx(total), approx(limit))
}

// loop is a builtin that runs predicate once per element of its first
// argument.
type loop struct {
	builtin   *ast.BuiltinNode
	predicate *ast.PredicateNode
}

func isLoopBody(loops []loop, n ast.Node) bool {
	for _, l := range loops {
		if ast.Node(l.predicate) == n {
			return true
		}
	}
	return false
}

// firstSlowLoop is the loop whose own steps (its runs times its length)
// exceed limit and whose predicate comes first in reading order (an
// enclosing loop before the loops inside it), nil when the steps add up
// past the limit without any one loop doing so. all is the tree in
// ast.Walk's order, children before their node, so a subtree of n nodes
// ends at its root and starts n-1 nodes before it.
func firstSlowLoop(all nodeList, loops []loop, runs map[ast.Node]int, limit int) ast.Node {
	var worst ast.Node
	bestStart, bestSize := 0, 0
	for _, l := range loops {
		if satMul(runs[l.builtin], length(l.builtin.Arguments[0])) <= limit {
			continue
		}
		var sub nodeList
		pred := ast.Node(l.predicate)
		ast.Walk(&pred, &sub)
		start := slices.Index(all, pred) - len(sub) + 1
		if worst == nil || start < bestStart || (start == bestStart && len(sub) > bestSize) {
			worst, bestStart, bestSize = l.builtin, start, len(sub)
		}
	}
	return worst
}

// nodeList collects the nodes ast.Walk visits, in its order.
type nodeList []ast.Node

// Visit implements ast.Visitor.
func (l *nodeList) Visit(node *ast.Node) { *l = append(*l, *node) }

// multiply multiplies the runs of the nodes it visits by n.
type multiply struct {
	runs map[ast.Node]int
	n    int
}

// Visit implements ast.Visitor.
func (m multiply) Visit(node *ast.Node) { m.runs[*node] = satMul(m.runs[*node], m.n) }

// length estimates how many elements a loop's collection has.
func length(n ast.Node) int {
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
			return length(n.Arguments[0])
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
