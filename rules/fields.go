package rules

import (
	"reflect"
	"slices"
	"sync"

	"github.com/expr-lang/expr/ast"
)

// Fields returns the names of the Env fields the rule reads, as written in
// rules ("orders_count", "days_since"), sorted and without repeats; nil for
// the empty rule. A struct field read only through constant members is
// named by those members ("rfm.segment"), one read whole by its root
// ("rfm" in rfm != nil). The audience stream uses it to read only the
// columns a rule needs.
func (p *Program) Fields() []string {
	if p.prg == nil {
		return nil
	}
	return slices.Clone(p.fields)
}

// fieldsOf collects Fields from the checked and optimised tree of the rule
// as written (without fastCalls, which replace the names it reads).
func fieldsOf(node ast.Node) []string {
	seen := fieldCollector{known: envFieldNames(), names: map[string]bool{}, members: map[*ast.IdentifierNode]bool{}}
	ast.Walk(&node, &memberCollector{&seen})
	ast.Walk(&node, &seen)
	out := make([]string, 0, len(seen.names))
	for name := range seen.names {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// EnvFields lists every name an audience rule can read from Env (the expr
// tags of its fields), sorted; journey, which only a journey's branch rules
// read, is not one.
func EnvFields() []string {
	known := envFieldNames()
	out := make([]string, 0, len(known))
	for name := range known {
		if name != journeyName {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

type fieldCollector struct {
	known   map[string]bool
	names   map[string]bool
	members map[*ast.IdentifierNode]bool // Env fields read through a constant member, already named
}

// Visit keeps identifiers that name Env fields; variables a rule declares
// itself (let, predicates) are not Env fields and are left out, unless they
// shadow one, which only adds a field.
func (f *fieldCollector) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok && f.known[id.Value] && !f.members[id] {
		f.names[id.Value] = true
	}
}

// memberCollector names the constant members of Env fields (rfm.segment)
// and marks their roots as covered.
type memberCollector struct{ *fieldCollector }

func (m *memberCollector) Visit(node *ast.Node) {
	mn, ok := (*node).(*ast.MemberNode)
	if !ok || mn.Method {
		return
	}
	id, ok := mn.Node.(*ast.IdentifierNode)
	prop, isConst := mn.Property.(*ast.StringNode)
	if ok && isConst && m.known[id.Value] {
		m.names[id.Value+"."+prop.Value] = true
		m.members[id] = true
	}
}

var envFieldNames = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{}
	t := reflect.TypeFor[Env]()
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("expr"); tag != "" {
			names[tag] = true
		}
	}
	return names
})
