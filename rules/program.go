package rules

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
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
	usesFuncs bool     // calls days_since & co., so the Env must come from NewEnv
	fields    []string // see Fields
}

// Compile type-checks src against Env and compiles it to a boolean program
// with the default Options. An empty (or all-blank) rule matches every
// customer, like a segment without filters; consent, suppressions and caps
// still apply downstream. Every error is an *Error.
func Compile(src string) (*Program, error) { return CompileWith(src, Options{}) }

// CompileWith is Compile with explicit limits.
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
	cfg := newConfig(opt.MaxNodes)
	tree, err := parser.ParseWithConfig(src, cfg)
	if err != nil {
		e := translate(src, err)
		if strings.Contains(err.Error(), "exceeds maximum allowed nodes") {
			e.Message = fmt.Sprintf("rule is too large: %d nodes, limit %d; split it or simplify",
				countNodes(src, opt.MaxNodes), opt.MaxNodes)
		}
		return nil, e
	}
	pol := &policy{src: src}
	ast.Walk(&tree.Node, pol)
	if pol.first != nil {
		return nil, pol.first
	}
	p.usesFuncs = pol.usesFuncs
	if e := stepsError(src, tree.Node, opt.MaxSteps); e != nil {
		return nil, e
	}
	if err := check(src, tree, cfg); err != nil {
		return nil, err
	}
	if e := checkValues(src, tree.Node, opt.Segments); e != nil {
		return nil, e
	}
	if err := optimizer.Optimize(&tree.Node, cfg); err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			err = fe.Bind(tree.Source)
		}
		return nil, translate(src, err)
	}
	p.fields = fieldsOf(tree.Node)
	directCalls(&tree.Node, cfg)
	cfg.Expect = reflect.Bool
	prg, err := compiler.Compile(tree, cfg)
	if err != nil {
		return nil, translate(src, err)
	}
	p.prg = prg
	return p, nil
}

// newConfig is the expr configuration every rule compiles with: the Env
// type, strict names, a node limit and only the allowlisted builtins.
func newConfig(maxNodes int) *conf.Config {
	cfg := conf.CreateNew()
	cfg.WithEnv(Env{})
	cfg.MaxNodes = uint(maxNodes)
	cfg.ExpectAny = true
	for name := range cfg.Builtins {
		if !isAllowedBuiltin(name) {
			cfg.Disabled[name] = true
			delete(cfg.Builtins, name)
		}
	}
	// Predicates (reduce, groupBy, ...) are parsed whatever Disabled says;
	// policy rejects the ones not allowlisted.
	return cfg
}

// check type-checks the tree, rejects method use and requires a boolean.
func check(src string, tree *parser.Tree, cfg *conf.Config) error {
	t, err := checker.Check(tree, cfg)
	if err != nil {
		return translate(src, err)
	}
	mc := &methodCheck{policy{src: src}}
	ast.Walk(&tree.Node, mc)
	if mc.first != nil {
		return mc.first
	}
	if t != nil && t.Kind() != reflect.Bool && t.Kind() != reflect.Interface {
		return &Error{Line: 1, Column: 1, Message: fmt.Sprintf(
			"the rule must be true or false, but it gives %s; compare it, e.g. %s",
			describeType(t), exampleFor(src, t))}
	}
	return nil
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

// countNodes counts the syntax tree of an over-limit rule for the error
// message; the source length limit bounds this work.
func countNodes(src string, limit int) int {
	cfg := newConfig(0)
	tree, err := parser.ParseWithConfig(src, cfg)
	if err != nil || tree == nil || tree.Node == nil {
		return limit + 1
	}
	var c nodeCounter
	ast.Walk(&tree.Node, &c)
	return max(int(c), limit+1)
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
