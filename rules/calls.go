package rules

import (
	"fmt"
	"reflect"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/conf"
)

// expr calls a function field of the environment through reflection
// (reflect.Value.Call: a slice of reflect.Values, a boxed result; a quarter
// of a microsecond, as much as the rest of a short rule) unless its
// signature is one of the few expr generated fast paths for, and
// days_since's func(time.Time) int is not. directCalls, run after type
// checking, so the Env's function fields keep their types, checks and
// error messages, turns each call of one into a call of a plain Go
// function (envCalls) that gets the Env as a hidden last argument ($env)
// and calls the same field directly.

// envCalls calls each Env function field with the rule's arguments; the
// last argument is the *Env being evaluated. A nil argument (from an
// interface value such as attr(...)) is the zero value, as with reflection.
var envCalls = map[string]func(args ...any) (any, error){
	"days_since": func(a ...any) (any, error) {
		t, err := timeArg("days_since", a[0])
		return callErr(err, func() any { return envArg(a).DaysSince(t) })
	},
	"days_until": func(a ...any) (any, error) {
		t, err := timeArg("days_until", a[0])
		return callErr(err, func() any { return envArg(a).DaysUntil(t) })
	},
	"within_days": func(a ...any) (any, error) {
		t, err := timeArg("within_days", a[0])
		if err != nil {
			return nil, err
		}
		d, err := intArg("within_days", a[1])
		return callErr(err, func() any { return envArg(a).Within(t, d) })
	},
	"age": func(a ...any) (any, error) { return envArg(a).Age(), nil },
	"in_local_hour": func(a ...any) (any, error) {
		from, err := intArg("in_local_hour", a[0])
		if err != nil {
			return nil, err
		}
		to, err := intArg("in_local_hour", a[1])
		return callErr(err, func() any { return envArg(a).InLocalHour(from, to) })
	},
	"has_tag": func(a ...any) (any, error) {
		s, err := stringArg("has_tag", a[0])
		return callErr(err, func() any { return envArg(a).HasTag(s) })
	},
	"attr": func(a ...any) (any, error) {
		s, err := stringArg("attr", a[0])
		return callErr(err, func() any { return envArg(a).Attr(s) })
	},
}

// callErr returns err, or the result of call when err is nil.
func callErr(err error, call func() any) (any, error) {
	if err != nil {
		return nil, err
	}
	return call(), nil
}

func envArg(a []any) *Env { return a[len(a)-1].(*Env) }

func timeArg(fn string, v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t, nil
	case nil:
		return time.Time{}, nil
	}
	return time.Time{}, fmt.Errorf("%s wants a time, got %s", fn, friendlyValue(v))
}

func intArg(fn string, v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case nil:
		return 0, nil
	}
	return 0, fmt.Errorf("%s wants a whole number, got %s", fn, friendlyValue(v))
}

func stringArg(fn string, v any) (string, error) {
	switch s := v.(type) {
	case string:
		return s, nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("%s wants text, got %s", fn, friendlyValue(v))
}

// friendlyValue names the type of a wrong argument the way rule authors
// write types.
func friendlyValue(v any) string {
	return fmt.Sprintf("%v (%s)", v, typeName(reflect.TypeOf(v)))
}

var envType = reflect.TypeFor[*Env]()

// directCalls rewrites the checked tree's calls of Env function fields into
// calls of envCalls, registered in cfg. (A rule cannot redeclare an Env
// name with let, so such a call always means the field.)
func directCalls(tree *ast.Node, cfg *conf.Config) {
	ast.Walk(tree, &callRewriter{cfg: cfg})
}

type callRewriter struct{ cfg *conf.Config }

func (r *callRewriter) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	fn, ok := envCalls[id.Value]
	t := id.Type()
	if !ok || t == nil || t.Kind() != reflect.Func || t.IsVariadic() || t.NumIn() != len(call.Arguments) {
		return
	}
	in := make([]reflect.Type, 0, t.NumIn()+1)
	for i := range t.NumIn() {
		in = append(in, t.In(i))
	}
	out := make([]reflect.Type, t.NumOut())
	for i := range out {
		out[i] = t.Out(i)
	}
	env := &ast.IdentifierNode{Value: "$env"}
	env.SetType(envType)
	env.SetLocation(id.Location())
	call.Arguments = append(call.Arguments, env)
	id.SetType(reflect.FuncOf(append(in, envType), out, false))
	r.cfg.Functions[id.Value] = &builtin.Function{Name: id.Value, Func: fn}
}
