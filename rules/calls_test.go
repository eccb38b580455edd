package rules

import (
	"errors"
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
		"days_since":    `days_since(last_purchase_at) == 30`,
		"days_until":    `days_until(now) == 0`,
		"within_days":   `within_days(last_purchase_at, 31) && !within_days(last_purchase_at, 29)`,
		"age":           `age() == 36`,
		"in_local_hour": `in_local_hour(10, 11) && !in_local_hour(22, 6)`,
		"has_tag":       `has_tag("vip") && !has_tag("x")`,
		"attr":          `attr("tier") == "gold" && attr("none") == nil`,
	}
	for name := range envCatalog().funcs {
		src, ok := rules[name]
		if !ok {
			t.Fatalf("no rule calls %s here: add one (and an envCalls entry if it is new)", name)
		}
		p, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		for _, op := range p.prg.Bytecode {
			if op == vm.OpCall || op == vm.OpCallTyped {
				t.Errorf("%s: compiled to a reflective or typed call:\n%s", src, p.prg.Disassemble())
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
