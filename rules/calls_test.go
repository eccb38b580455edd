package rules

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"
)

// TestFunctionCallsSkipReflection proves every Env function field is called
// directly, not through reflection, and gives the same results.
func TestFunctionCallsSkipReflection(t *testing.T) {
	env := NewEnv(nil)
	env.Now = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	env.Birthday = date(1990, 1, 1)
	env.LastPurchaseAt = env.Now.Add(-30 * day)
	env.Tags = []string{"VIP"}
	env.Attributes = map[string]any{"tier": "gold", "h": "x"}
	rules := map[string]string{
		"days_since":       `days_since(last_purchase_at) == 30`,
		"days_until":       `days_until(now) == 0`,
		"within_days":      `within_days(last_purchase_at, 31) && !within_days(last_purchase_at, 29)`,
		"age":              `age() == 36`,
		"in_local_hour":    `in_local_hour(10, 11) && !in_local_hour(22, 6)`,
		"has_tag":          `has_tag("vip") && !has_tag("x")`,
		"attr":             `attr("tier") == "gold" && attr("none") == nil`,
		"count_events":     `count_events("product_viewed", "7d") == 4 && count_events("signup", "7d") == 0`,
		"last_event":       `days_since(last_event("cart_updated")) == 2 && last_event("signup") < now`,
		"days_since_event": `days_since_event("cart_updated") == 2 && days_since_event("signup") == -1`,
		"subscribed":       `subscribed("newsletter") && !subscribed("offers")`,
	}
	SetOptOuts(env, []string{"offers"})
	h := &History{}
	h.Reset([]EventUse{{Type: "product_viewed", Window: "7d", Span: 7 * day}, {Type: "cart_updated"}})
	h.Counts[0], h.Last[1] = 4, env.Now.Add(-48*time.Hour)
	SetHistory(env, h)
	for name := range envCatalog().funcs {
		src, ok := rules[name]
		if !ok {
			t.Fatalf("no rule calls %s here: add one (and an envCalls entry if it is new)", name)
		}
		p, err := CompileWith(src, Options{Topics: []string{"newsletter", "offers"}})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		for _, op := range p.prg.Bytecode {
			if op == vm.OpCall {
				t.Errorf("%s: compiled to a reflective call:\n%s", src, p.prg.Disassemble())
			}
		}
		if ok, err := p.Eval(env); !ok || err != nil {
			t.Errorf("%s: %v, %v", src, ok, err)
		}
	}
}

// TestFunctionCallEdges covers what reflection used to handle: nil
// arguments are zero values and a wrong type fails with the rule's
// position.
func TestFunctionCallEdges(t *testing.T) {
	env := NewEnv(nil)
	env.Now = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	env.Attributes = map[string]any{"h": "x", "n": 3}
	if !evalRule(t, `days_since(attr("missing")) == -1 && !has_tag(attr("missing"))`, env) {
		t.Error("nil arguments should be zero values")
	}
	p, err := Compile(`in_local_hour(0, attr("h"))`)
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if _, err := p.Eval(env); !errors.As(err, &e) || e.Column != 1 || !strings.Contains(e.Message, "in_local_hour wants a whole number") {
		t.Fatalf("wrong argument type: got %v", err)
	}
}

// TestEnvCallsMatchEnvFields keeps envCalls in step with Env.
func TestEnvCallsMatchEnvFields(t *testing.T) {
	for name := range envCatalog().funcs {
		if _, ok := envCalls[name]; !ok {
			t.Errorf("Env function %s has no envCalls entry: it would be called through reflection", name)
		}
	}
}

// TestFieldGettersMatchReflection proves each getter reads the field its
// name tags, and that rules reading fields compile without reflection.
func TestFieldGettersMatchReflection(t *testing.T) {
	env := NewEnv(nil)
	env.ID, env.ExternalID, env.Email, env.Phone = 7, "x7", "a@example.com", "+33612345678"
	env.FirstName, env.LastName, env.Locale, env.TimeZone = "Ana", "Lee", "fr", "Europe/Paris"
	env.Birthday, env.Tags, env.Attributes = date(1990, 1, 2), []string{"vip"}, map[string]any{"k": 1.5}
	env.EmailConsent, env.SMSConsent, env.OrdersCount, env.TotalSpent = true, true, 3, 12.5
	env.AverageOrderValue, env.FirstPurchaseAt, env.LastPurchaseAt = 4.25, date(2024, 1, 1), date(2025, 1, 1)
	env.DaysSinceLastPurchase, env.AvgDaysBetweenPurchases, env.Lifecycle = 12, 30.5, "mature"
	env.PAlive, env.ExpectedPurchases90d, env.CLV = 0.8, 1.25, 99.5
	env.RFM = RFM{R: 5, F: 4, M: 3, Score: "543", Segment: "champions"}
	v := reflect.ValueOf(env).Elem()
	want := map[string]any{}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Type.Kind() == reflect.Func || (f.Type.Kind() == reflect.Struct && f.Type != timeType) {
			continue
		}
		want[f.Tag.Get("expr")] = v.Field(i).Interface()
	}
	rv := v.FieldByName("RFM")
	for i := range rv.NumField() {
		want["rfm."+rv.Type().Field(i).Tag.Get("expr")] = rv.Field(i).Interface()
	}
	for name, w := range want {
		get, ok := envGetters[name]
		if !ok {
			t.Errorf("no getter for %s: rules read it through reflection", name)
			continue
		}
		if got := get(env); !reflect.DeepEqual(got, w) {
			t.Errorf("getter %s = %#v, want %#v", name, got, w)
		}
	}
	for _, src := range []string{
		`orders_count == 3 && rfm.segment in ["champions"] && p_alive > 0.5 && email_consent && last_purchase_at < now`,
		`any(tags, # == "vip" && first_name == "Ana") && rfm.score == "543" && (attributes.k ?? 0) > 1`,
		`let x = total_spent; x > 12 && event.amount == 0 && rfm?.r == 5 && rfm.m + rfm.f == 7`,
	} {
		p, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if ok, err := p.Eval(env); !ok || err != nil {
			t.Errorf("%s: %v, %v\n%s", src, ok, err, p.prg.Disassemble())
		}
	}
}

// parityRules read every kind of Env name and call every Env function, in
// the shapes fastCalls rewrites (plain, member, optional member, inside
// predicates and let, a nil argument). (has_tag(nil) is left out: expr's
// own typed call of func(string) bool fails on it, the fast path reads it
// as "", see TestFunctionCallEdges.)
var parityRules = []string{
	`total_spent > 100 && orders_count >= 2 && lifecycle in ["growing", "mature"] && rfm.r >= 4 && days_since_last_purchase < 90`,
	`has_tag("vip") && in_local_hour(9, 18) && age() >= 18 && email_consent && days_since(last_purchase_at) > 30`,
	`within_days(last_purchase_at, 45) || days_until(birthday) in 0..30 || attr("plan") == "gold"`,
	`rfm.segment == "champions" || rfm?.score == "544" || rfm["f"] > 3 || rfm != nil`,
	`any(tags, # == "vip" && first_name != "") && len(attributes) > 0 && (attributes.n ?? 0) > 1`,
	`let x = total_spent; x > 12 && event.amount == 0 && clv >= 0 && p_alive <= 1 && now > last_purchase_at`,
	`days_since(attr("missing")) == -1 && time_zone != "" && locale in ["", "fr"]`,
	`id > 0 && external_id != email && phone == "" && last_name == "" && sms_consent == false`,
	`average_order_value * orders_count >= total_spent - 1 && expected_purchases_90d >= 0 && avg_days_between_purchases >= 0`,
	`first_purchase_at < now && birthday != now && in_local_hour(22, 6) == !in_local_hour(6, 22)`,
}

// compileBoth compiles src with fastCalls (the Program) and as written.
func compileBoth(t *testing.T, src string) (*Program, *vm.Program) {
	t.Helper()
	p, err := Compile(src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	plain, err := compilePlain(src)
	if err != nil {
		t.Fatalf("%s: plain: %v", src, err)
	}
	return p, plain
}

// TestFastCallsMatchPlain is the fast path's parity test: every rule gives
// the same answer, or fails alike, compiled with fastCalls (Eval) and as
// written (compilePlain, run by expr), for customers with and without data.
func TestFastCallsMatchPlain(t *testing.T) {
	t.Parallel()
	full := benchEnv()
	full.ID, full.ExternalID, full.Email, full.FirstName = 7, "x7", "a@example.com", "Ana"
	full.Attributes, full.CLV, full.PAlive = map[string]any{"plan": "gold", "n": 3}, 12.5, 0.4
	full.FirstPurchaseAt, full.AverageOrderValue = full.Now.AddDate(-1, 0, 0), 50
	odd := NewEnv(nil)
	odd.Now = full.Now
	odd.Attributes = map[string]any{"plan": 3, "missing": "text"}
	for _, src := range parityRules {
		p, plain := compileBoth(t, src)
		for i, env := range []*Env{full, NewEnv(time.UTC), odd} {
			fast, fastErr := p.Eval(env)
			want, wantErr := vm.Run(plain, env)
			if fast != (want == true) || (fastErr == nil) != (wantErr == nil) {
				t.Errorf("%s, env %d: fast %v, %v; plain %v, %v", src, i, fast, fastErr, want, wantErr)
			}
		}
	}
}

// TestFastCallsKeepTypedOperators: fastCalls change how a rule loads fields
// and calls functions, nothing else; the comparisons keep the typed
// operators expr chose for the rule as written. It fails if expr starts
// checking patched nodes again and forgets the types they carry.
func TestFastCallsKeepTypedOperators(t *testing.T) {
	t.Parallel()
	access := map[vm.Opcode]bool{
		vm.OpLoadField: true, vm.OpLoadEnv: true, vm.OpPush: true, vm.OpCallTyped: true, vm.OpCall1: true,
		vm.OpCall2: true, vm.OpCall3: true, vm.OpCall: true, vm.OpFetch: true, vm.OpFetchField: true, vm.OpDeref: true,
	}
	ops := func(prg *vm.Program) []vm.Opcode {
		var out []vm.Opcode
		for _, op := range prg.Bytecode {
			if !access[op] {
				out = append(out, op)
			}
		}
		return out
	}
	for _, src := range parityRules {
		p, plain := compileBoth(t, src)
		if got, want := ops(p.prg), ops(plain); !slices.Equal(got, want) {
			t.Errorf("%s: operators differ\nfast:\n%s\nplain:\n%s", src, p.prg.Disassemble(), plain.Disassemble())
		}
	}
}
