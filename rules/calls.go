package rules

import (
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// expr calls a function field of the environment through reflection
// (reflect.Value.Call: a slice of reflect.Values, a boxed result; a quarter
// of a microsecond, as much as the rest of a short rule) unless its
// signature is one of the few expr generated fast paths for, and
// days_since's func(time.Time) int is not. fastCalls, a patcher applied to
// a rule already type-checked as written, so the Env's function fields keep
// their types, checks and error messages, turns each call of one into a
// call of a plain Go function (envCalls) that gets the Env as a hidden last
// argument ($env) and calls the same field directly.

// envCalls calls each Env function field with the rule's arguments and the
// *Env being evaluated last. The shapes func(any) any and func(any, any)
// any are among expr's typed calls (no argument slice, no reflection); the
// others are expr Functions, declared with their types. A nil argument
// (from an interface value such as attr(...)) is the zero value, as with
// reflection; a wrong one fails the evaluation with the rule's position.
var envCalls = map[string]any{
	"days_since": func(t, env any) any { return env.(*Env).DaysSince(timeArg("days_since", t)) },
	"days_until": func(t, env any) any { return env.(*Env).DaysUntil(timeArg("days_until", t)) },
	"has_tag":    func(s, env any) any { return env.(*Env).HasTag(stringArg("has_tag", s)) },
	"attr":       func(s, env any) any { return env.(*Env).Attr(stringArg("attr", s)) },
	"age":        func(env any) any { return env.(*Env).Age() },
	"last_event": func(s, env any) any { return env.(*Env).LastEvent(stringArg("last_event", s)) },
	"subscribed": func(s, env any) any { return env.(*Env).Subscribed(stringArg("subscribed", s)) },
	"days_since_event": func(s, env any) any {
		return env.(*Env).DaysSinceEvent(stringArg("days_since_event", s))
	},
	"count_events": func(a ...any) (any, error) {
		return a[2].(*Env).CountEvents(stringArg("count_events", a[0]), stringArg("count_events", a[1])), nil
	},
	"within_days": func(a ...any) (any, error) {
		return a[2].(*Env).Within(timeArg("within_days", a[0]), intArg("within_days", a[1])), nil
	},
	"in_local_hour": func(a ...any) (any, error) {
		return a[2].(*Env).InLocalHour(intArg("in_local_hour", a[0]), intArg("in_local_hour", a[1])), nil
	},
}

// The argument readers panic with an error on a wrong type: expr's VM
// recovers it into an evaluation error at the call's position.

func timeArg(fn string, v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case nil:
		return time.Time{}
	}
	panic(fmt.Errorf("%s wants a time, got %s", fn, friendlyValue(v)))
}

func intArg(fn string, v any) int {
	switch n := v.(type) {
	case int:
		return n
	case nil:
		return 0
	}
	panic(fmt.Errorf("%s wants a whole number, got %s", fn, friendlyValue(v)))
}

func stringArg(fn string, v any) string {
	switch s := v.(type) {
	case string:
		return s
	case nil:
		return ""
	}
	panic(fmt.Errorf("%s wants text, got %s", fn, friendlyValue(v)))
}

// friendlyValue names the type of a wrong argument the way rule authors
// write types.
func friendlyValue(v any) string {
	return fmt.Sprintf("%v (%s)", v, typeName(reflect.TypeOf(v)))
}

// fastCalls are the expr options that rewrite a valid rule's calls of Env
// function fields into calls of envCalls, and its reads of Env fields into
// calls of envGetters (see fastCallPatcher).
func fastCalls() []expr.Option {
	opts := []expr.Option{expr.AsBool(), expr.Patch(fastCallPatcher{})}
	for name, fn := range envCalls {
		if f, ok := fn.(func(...any) (any, error)); ok {
			opts = append(opts, expr.Function(functionName(name), f, reflect.Zero(withEnvArg(envFuncType(name))).Interface()))
		}
	}
	return opts
}

// functionName is the expr Function standing for the Env function name: a
// name no rule can write (a dot is not part of an identifier), so only
// fastCallPatcher's calls reach it.
func functionName(name string) string { return "rules." + name }

// envFuncType is the type of the Env function field a rule calls name.
func envFuncType(name string) reflect.Type {
	t := reflect.TypeFor[Env]()
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("expr") == name {
			return t.Field(i).Type
		}
	}
	panic("rules: no Env function " + name)
}

// withEnvArg is the function type t with the hidden $env argument added,
// as any: expr's checker leaves $env untyped.
func withEnvArg(t reflect.Type) reflect.Type {
	in := make([]reflect.Type, 0, t.NumIn()+1)
	for i := range t.NumIn() {
		in = append(in, t.In(i))
	}
	return reflect.FuncOf(append(in, anyType), []reflect.Type{t.Out(0)}, false)
}

var anyType = reflect.TypeFor[any]()

// fastCallPatcher rewrites, in one walk (expr type-checks the whole rule
// again before each patcher), a valid rule's calls of Env functions, its
// constant members of Env structs (rfm.segment) and its other reads of
// plain Env fields (not structs, which a member access may still read
// through) into calls with $env as last argument. The rewrites do not
// meet: ast.Walk visits a node's children before the node, and a rewritten
// node is a new call whose parts are not visited. A rule cannot redeclare
// an Env name with let, so such a name always means the field.
//
// Each rewrite builds a new node and puts it in place with ast.Patch, as
// expr's documentation of Patch shows. A call of an expr Function is left
// untyped: the checker types it from the Function's declared types. A call
// of a Go function held in a constant node (one of expr's typed call
// shapes, func(any) any or func(any, any) any) is given the type of the
// node it replaces, as the documentation's patchers do, since the shape's
// result is any: expr's checker keeps a type a patcher set on a call, and
// TestFastCallsKeepTypedOperators fails if it stops doing so.
type fastCallPatcher struct{}

// Visit implements ast.Visitor.
func (fastCallPatcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		fn, ok := envCalls[id.Value]
		t := id.Type()
		if !ok || t.Kind() != reflect.Func || t.IsVariadic() || t.NumIn() != len(n.Arguments) {
			return
		}
		if _, ok := fn.(func(...any) (any, error)); ok {
			callee := &ast.IdentifierNode{Value: functionName(id.Value)}
			callee.SetLocation(id.Location())
			ast.Patch(node, &ast.CallNode{Callee: callee, Arguments: withEnv(n.Arguments, n)})
			return
		}
		callTyped(node, fn, n.Arguments)
	case *ast.MemberNode:
		id, isIdent := n.Node.(*ast.IdentifierNode)
		prop, isConst := n.Property.(*ast.StringNode)
		if n.Optional || n.Method || !isIdent || !isConst {
			return
		}
		if get, ok := envGetters[id.Value+"."+prop.Value]; ok {
			callTyped(node, get, nil)
		}
	case *ast.IdentifierNode:
		if t := n.Type(); t.Kind() == reflect.Struct && t != timeType {
			return
		}
		if get, ok := envGetters[n.Value]; ok {
			callTyped(node, get, nil)
		}
	}
}

// callTyped replaces *node with a call of fn, a Go function of one of
// expr's typed call shapes, with args and $env, typed as *node was. The
// callee is typed too (as the checker would type it): the checker does not
// visit the parts of a call a patcher has typed, and the compiler picks the
// typed call from the callee's type.
func callTyped(node *ast.Node, fn any, args []ast.Node) {
	t := (*node).Type()
	callee := &ast.ConstantNode{Value: fn}
	callee.SetType(reflect.TypeOf(fn))
	callee.SetLocation((*node).Location())
	call := &ast.CallNode{Callee: callee, Arguments: withEnv(args, *node)}
	ast.Patch(node, call)
	call.SetType(t)
}

// withEnv appends to args the hidden argument that passes the evaluated
// *Env, placed at at's position.
func withEnv(args []ast.Node, at ast.Node) []ast.Node {
	env := &ast.IdentifierNode{Value: "$env"}
	env.SetLocation(at.Location())
	return append(slices.Clip(args), env)
}

// envGetters reads each plain Env field (and the members of rfm) by its
// rule name.
var envGetters = map[string]func(any) any{
	"id":                         func(e any) any { return e.(*Env).ID },
	"external_id":                func(e any) any { return e.(*Env).ExternalID },
	"email":                      func(e any) any { return e.(*Env).Email },
	"phone":                      func(e any) any { return e.(*Env).Phone },
	"first_name":                 func(e any) any { return e.(*Env).FirstName },
	"last_name":                  func(e any) any { return e.(*Env).LastName },
	"locale":                     func(e any) any { return e.(*Env).Locale },
	"time_zone":                  func(e any) any { return e.(*Env).TimeZone },
	"birthday":                   func(e any) any { return e.(*Env).Birthday },
	"tags":                       func(e any) any { return e.(*Env).Tags },
	"attributes":                 func(e any) any { return e.(*Env).Attributes },
	"email_consent":              func(e any) any { return e.(*Env).EmailConsent },
	"sms_consent":                func(e any) any { return e.(*Env).SMSConsent },
	"orders_count":               func(e any) any { return e.(*Env).OrdersCount },
	"total_spent":                func(e any) any { return e.(*Env).TotalSpent },
	"average_order_value":        func(e any) any { return e.(*Env).AverageOrderValue },
	"first_purchase_at":          func(e any) any { return e.(*Env).FirstPurchaseAt },
	"last_purchase_at":           func(e any) any { return e.(*Env).LastPurchaseAt },
	"days_since_last_purchase":   func(e any) any { return e.(*Env).DaysSinceLastPurchase },
	"avg_days_between_purchases": func(e any) any { return e.(*Env).AvgDaysBetweenPurchases },
	"lifecycle":                  func(e any) any { return e.(*Env).Lifecycle },
	"p_alive":                    func(e any) any { return e.(*Env).PAlive },
	"expected_purchases_90d":     func(e any) any { return e.(*Env).ExpectedPurchases90d },
	"clv":                        func(e any) any { return e.(*Env).CLV },
	"spend_90d":                  func(e any) any { return e.(*Env).Spend90d },
	"spend_prev_90d":             func(e any) any { return e.(*Env).SpendPrev90d },
	"orders_90d":                 func(e any) any { return e.(*Env).Orders90d },
	"orders_prev_90d":            func(e any) any { return e.(*Env).OrdersPrev90d },
	"value_trend":                func(e any) any { return e.(*Env).ValueTrend },
	"value_churn":                func(e any) any { return e.(*Env).ValueChurn },
	"tier":                       func(e any) any { return e.(*Env).Tier },
	"abc":                        func(e any) any { return e.(*Env).ABC },
	"next_purchase_days":         func(e any) any { return e.(*Env).NextPurchaseDays },
	"nps":                        func(e any) any { return e.(*Env).NPS },
	"csat":                       func(e any) any { return e.(*Env).CSAT },
	"now":                        func(e any) any { return e.(*Env).Now },
	"rfm.r":                      func(e any) any { return e.(*Env).RFM.R },
	"rfm.f":                      func(e any) any { return e.(*Env).RFM.F },
	"rfm.m":                      func(e any) any { return e.(*Env).RFM.M },
	"rfm.score":                  func(e any) any { return e.(*Env).RFM.Score },
	"rfm.segment":                func(e any) any { return e.(*Env).RFM.Segment },
}
