package rules

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Limits applied when Options leaves a field zero.
const (
	// DefaultMaxNodes caps the syntax tree of a rule; real audience rules use
	// a few dozen nodes.
	DefaultMaxNodes = 500
	// DefaultMaxLength caps the rule source, in bytes.
	DefaultMaxLength = 4096
	// DefaultMemoryBudget caps what one evaluation may build, in expr's
	// units (roughly list elements: ranges, array and map literals, map()
	// and filter() results). It also bounds the work of nested loops such as
	// all(1..1000, all(1..1000, ...)), which fail with an error instead of
	// burning CPU for every customer.
	DefaultMemoryBudget = 100_000
)

// Options tunes the compile-time and run-time limits of a rule; zero fields
// take the defaults above.
type Options struct {
	MaxNodes     int // syntax tree nodes
	MaxLength    int // source bytes
	MemoryBudget int // per evaluation, see DefaultMemoryBudget
	MaxSteps     int // estimated loop steps per evaluation, see DefaultMaxSteps
	// Segments are the RFM segment names rfm.segment can hold (those of
	// the configured segment map); nil means insights' default map.
	Segments []string
	// Journey compiles a journey's branch rule, which may read journey
	// (Env.Journey); any other rule naming it is an error.
	Journey bool
	// SendSteps are the ids of the journey's send steps: the only names
	// journey.sent("...") accepts.
	SendSteps []string
	// Topics are the deployment's topics: the only names subscribed("...")
	// accepts.
	Topics []string
}

func (o Options) withDefaults() Options {
	if o.MaxNodes <= 0 {
		o.MaxNodes = DefaultMaxNodes
	}
	if o.MaxLength <= 0 {
		o.MaxLength = DefaultMaxLength
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if o.MaxSteps <= 0 {
		o.MaxSteps = DefaultMaxSteps
	}
	return o
}

// Program is a compiled audience rule. It is immutable and safe for
// concurrent use by many goroutines, each with its own Env.
type Program struct {
	src       string
	prg       *vm.Program // nil for the empty rule
	budget    uint
	usesFuncs bool // calls days_since & co., so the Env must come from NewEnv
	// usesJourney: calls journey.sent, so the Env's Journey must be filled.
	usesJourney bool
	events      []EventUse // see EventUses
	topics      bool       // calls subscribed, see ReadsTopics
	fields      []string   // see Fields
}

// Compile type-checks src against Env and compiles it to a boolean program
// with the default Options. An empty (or all-blank) rule matches every
// customer, like a segment without filters; consent, suppressions and caps
// still apply downstream. Every error is an *Error.
func Compile(src string) (*Program, error) { return CompileWith(src, Options{}) }

// CompileWith is Compile with explicit limits.
//
// The rule goes through expr's public pipeline (expr.Compile with options
// and patchers) three times. First as written, unoptimised, with the
// validate patcher, which applies the rules' own checks around expr's type
// check (see validate). Then optimised as written, which gives Fields and
// the optimiser's errors. Last with the fastCalls patcher, which replaces
// Env reads and function calls by typed calls: it is only safe on a rule
// known to be valid, since expr does not check a call again once a patcher
// has typed it.
func CompileWith(src string, opt Options) (*Program, error) {
	opt = opt.withDefaults()
	if len(src) > opt.MaxLength {
		return nil, &Error{Line: 1, Column: 1, Message: fmt.Sprintf(
			"rule is too long: %d bytes, limit %d; split it or simplify", len(src), opt.MaxLength)}
	}
	p := &Program{src: src, budget: uint(opt.MemoryBudget)}
	if strings.TrimSpace(src) == "" {
		return p, nil
	}
	v := newValidator(src, opt)
	_, err := expr.Compile(src, append(baseOptions(), expr.Optimize(false), expr.Patch(v.mark), expr.Patch(v))...)
	switch {
	case v.pre != nil:
		return nil, v.pre
	case err != nil:
		return nil, translate(src, err)
	case !v.ran:
		return nil, &Error{Line: 1, Column: 1, Message: notValidated}
	case v.post != nil:
		return nil, v.post
	}
	p.usesFuncs, p.usesJourney, p.events, p.topics = v.usesFuncs, v.usesJourney, v.events, v.topics
	plain, err := compilePlain(src)
	if err != nil {
		return nil, translate(src, err)
	}
	p.fields = fieldsOf(plain.Node())
	prg, err := expr.Compile(src, append(baseOptions(), fastCalls()...)...)
	if err != nil {
		return nil, translate(src, err)
	}
	p.prg = prg
	return p, nil
}

// baseOptions are the expr options every rule compiles with: the Env type
// (which makes names strict) and only the allowlisted builtins. expr's own
// node limit is off: validate applies Options.MaxNodes to the tree it
// walks, so the limit and the count in its error are the same thing, and
// MaxLength bounds what the parser reads before.
func baseOptions() []expr.Option {
	opts := []expr.Option{expr.Env(Env{}), expr.MaxNodes(0), expr.DisableAllBuiltins()}
	for _, name := range allowedBuiltins {
		opts = append(opts, expr.EnableBuiltin(name))
	}
	// Predicates (reduce, groupBy, ...) are parsed whatever is disabled;
	// policy rejects the ones not allowlisted.
	return opts
}

// compilePlain compiles a valid rule as written, without fastCalls: the
// program Fields reads and the fast path's parity tests compare with.
func compilePlain(src string) (*vm.Program, error) {
	return expr.Compile(src, append(baseOptions(), expr.AsBool())...)
}

// resultError rejects a rule whose result, of type t, is not a boolean.
func resultError(src string, t reflect.Type) *Error {
	if t.Kind() == reflect.Bool || t.Kind() == reflect.Interface {
		return nil
	}
	return &Error{Line: 1, Column: 1, Message: fmt.Sprintf(
		"the rule must be true or false, but it gives %s; compare it, e.g. %s",
		describeType(t), exampleFor(src, t))}
}

// describeType names a result type for the non-boolean rule error.
func describeType(t reflect.Type) string {
	name := typeName(t)
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number (" + name + ")"
	case reflect.String:
		return "text (string)"
	case reflect.Slice:
		return "a " + name
	case reflect.Map:
		return "a map"
	}
	return "a " + name
}

// exampleFor shows how to turn a non-boolean rule into a comparison.
func exampleFor(src string, t reflect.Type) string {
	s := strings.TrimSpace(src)
	if len(s) > 40 || strings.Contains(s, "\n") {
		s = "..."
	}
	switch t.Kind() {
	case reflect.String:
		return fmt.Sprintf("`%s == \"value\"`", s)
	case reflect.Slice, reflect.Map:
		return fmt.Sprintf("`len(%s) > 0`", s)
	case reflect.Struct:
		return fmt.Sprintf("`%s > now`", s)
	}
	return fmt.Sprintf("`%s > 0`", s)
}

type nodeCounter int

func (c *nodeCounter) Visit(*ast.Node) { *c++ }

func isAllowedBuiltin(name string) bool { return slices.Contains(allowedBuiltins, name) }

// Source returns the rule text as written.
func (p *Program) Source() string { return p.src }

// Everyone reports whether the rule is empty and so matches every customer.
func (p *Program) Everyone() bool { return p.prg == nil }

// vms recycles expr virtual machines: a VM keeps its stack between runs, so
// reusing one makes Eval allocation-free apart from what expr itself boxes.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// errNoFuncs reports an Env that was not built by NewEnv.
var errNoFuncs = errors.New("rules: the rule calls functions but the Env has none; build it with NewEnv")

// Eval runs the rule for the customer in env. Runtime failures (a memory
// budget exceeded, an attribute of the wrong type) return an error wrapping
// an *Error with the position in the rule.
func (p *Program) Eval(env *Env) (bool, error) {
	if p.prg == nil {
		return true, nil
	}
	if env == nil {
		return false, errors.New("rules: evaluate: nil Env")
	}
	if p.usesFuncs && env.DaysSince == nil {
		return false, errNoFuncs
	}
	if p.usesJourney && env.Journey.Sent == nil {
		return false, errNoJourney
	}
	if p.events != nil && env.history == nil {
		return false, errNoHistory
	}
	if p.topics && env.optOuts == nil {
		return false, errNoOptOuts
	}
	m := vms.Get().(*vm.VM)
	m.MemoryBudget = p.budget
	out, err := m.Run(p.prg, env)
	vms.Put(m)
	if err != nil {
		e := translate(p.src, err)
		if strings.Contains(e.Message, "memory budget exceeded") {
			e.Message = fmt.Sprintf("rule exceeded its memory budget (%d); avoid large ranges and nested loops", p.budget)
		}
		return false, fmt.Errorf("rules: evaluate: %w", e)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("rules: evaluate: rule gave %T, not true or false", out)
	}
	return b, nil
}
