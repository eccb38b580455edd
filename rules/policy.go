package rules

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// policy walks a parsed rule and rejects what type checking alone would let
// through: disabled builtins that expr parses anyway (reduce, groupBy, ...),
// calls to anything but the Env functions and allowed builtins, $env (which
// would bypass the type check), and regular expressions built at run time.
// After type checking, checkMethods rejects method calls and method values
// (time.Time has many methods; rules get days_since & co. instead).
type policy struct {
	src         string
	opt         Options
	first       *Error
	from        int        // rune offset of first
	usesFuncs   bool       // the rule calls an Env function
	usesJourney bool       // the rule calls journey.sent
	events      []EventUse // the event history it reads
	topics      bool       // the rule calls subscribed
}

// Visit implements ast.Visitor; it records the leftmost violation.
func (p *policy) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" {
			p.fail(n, "$env is not available in rules; write the name directly, e.g. total_spent")
		}
		p.journeyIdent(n)
	case *ast.BuiltinNode:
		if !isAllowedBuiltin(n.Name) {
			p.fail(n, "function %q is not available in rules; allowed: %s", n.Name, allowedList())
		}
	case *ast.CallNode:
		p.call(n)
	case *ast.BinaryNode:
		if n.Operator == "matches" {
			if _, ok := n.Right.(*ast.StringNode); !ok {
				p.fail(n.Right, "matches needs a constant pattern in quotes, e.g. email matches \"@example\\\\.com$\"")
			}
		}
	}
}

// call checks that a call targets an Env function by name.
func (p *policy) call(n *ast.CallNode) {
	if m, ok := n.Callee.(*ast.MemberNode); ok {
		if path, ok := nestedFunc(m); ok {
			p.journeyCall(n, path)
			return
		}
	}
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		p.fail(n.Callee, "only rule functions can be called (methods are not available): %s", funcList())
		return
	}
	c := envCatalog()
	name := id.Value
	switch {
	case c.funcs[name]:
		p.usesFuncs = true
		if historyFuncs[name] > 0 {
			p.historyCall(n, name)
		}
		if name == subscribedName {
			p.topicCall(n)
		}
	case c.fields[name] != "":
		p.fail(id, "%q is a %s, not a function", name, c.fields[name])
	case exprBuiltin(name):
		p.fail(id, "function %q is not available in rules; allowed: %s", name, allowedList())
	default:
		sugg := suggest(name, suggestionPool(true))
		if p.fail(id, "unknown function %q%s", name, didYouMean(sugg)) {
			p.first.Suggestions = sugg
		}
	}
}

// exprBuiltin reports whether name is one of expr's own functions (split,
// date, toJSON...), which rules leave disabled, so the error can say it is
// not available rather than unknown. It asks expr itself, through
// expr.Compile: with every builtin enabled and an empty strict
// environment, only a builtin's name compiles, to a function. Only a
// failing rule gets here.
func exprBuiltin(name string) bool {
	prg, err := expr.Compile(name, expr.Env(struct{}{}))
	return err == nil && prg.Node().Type().Kind() == reflect.Func
}

// fail records a violation at node unless an earlier (leftmost) one exists,
// and reports whether it did.
func (p *policy) fail(node ast.Node, format string, args ...any) bool {
	from := node.Location().From
	if p.first != nil && p.from <= from {
		return false
	}
	p.first = errorAt(p.src, from, format, args...)
	p.from = from
	return true
}

// methodCheck rejects member accesses that resolve to functions: method calls
// such as now.Year() and method values such as now.Year.
type methodCheck struct{ policy }

// Visit implements ast.Visitor.
func (m *methodCheck) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	if _, ok := nestedFunc(n); ok {
		return // a function field (journey.sent), checked where it is called
	}
	if t := n.Type(); t != nil && t.Kind() == reflect.Func {
		name := "this"
		if s, ok := n.Property.(*ast.StringNode); ok {
			name = fmt.Sprintf("%q", s.Value)
		}
		m.fail(n.Property, "methods are not available in rules (%s); use the rule functions: %s", name, funcList())
	}
}

func allowedList() string { return strings.Join(allowedBuiltins, ", ") }

func funcList() string {
	var out []string
	for _, n := range envCatalog().names {
		if n.fn && !strings.Contains(n.path, ".") { // journey.sent is for journeys only
			out = append(out, n.path)
		}
	}
	return strings.Join(out, ", ")
}
