package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr/builtin"
)

func TestEmptyRuleMatchesEveryone(t *testing.T) {
	for _, src := range []string{"", "  \n\t "} {
		p, err := Compile(src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", src, err)
		}
		if !p.Everyone() || p.Source() != src {
			t.Fatalf("Everyone() = %v, Source() = %q", p.Everyone(), p.Source())
		}
		if ok, err := p.Eval(&Env{}); !ok || err != nil {
			t.Fatalf("Eval = %v, %v; want true", ok, err)
		}
	}
	p, err := Compile("true")
	if err != nil || p.Everyone() || p.Source() != "true" {
		t.Fatalf("Compile(true) = %v, %v", p, err)
	}
}

// Every expr builtin outside the allowlist must be rejected, whatever the
// arguments, and the allowlisted ones must be accepted.
func TestOnlyAllowlistedBuiltinsCompile(t *testing.T) {
	predicates := []string{"find", "findIndex", "findLast", "findLastIndex", "groupBy", "sortBy", "reduce"}
	for _, f := range builtin.Builtins {
		if f.Name == "now" {
			continue // the Env field `now` shadows the builtin; calling it is a type error
		}
		call := f.Name + "(tags)"
		if slices.Contains(predicates, f.Name) {
			call = f.Name + "(tags, #)"
		}
		_, err := Compile(call + " != nil")
		allowed := slices.Contains(Builtins(), f.Name)
		var e *Error
		if !allowed {
			if !errors.As(err, &e) || !strings.Contains(e.Message, fmt.Sprintf("function %q is not available", f.Name)) {
				t.Errorf("%s: got %v, want not available", f.Name, err)
			}
			continue
		}
		if errors.As(err, &e) && strings.Contains(e.Message, "not available") {
			t.Errorf("allowlisted %s rejected: %v", f.Name, err)
		}
	}
	for _, src := range []string{
		`len(tags) > 0`, `upper(first_name) == "A"`, `trim(email) != ""`, `hasPrefix(email, "a")`,
		`hasSuffix(email, ".com")`, `abs(total_spent) > 1`, `ceil(clv) > 1`, `floor(clv) > 1`,
		`round(p_alive) == 1`, `min(total_spent, clv) > 1`, `max(1, 2) == 2`, `int(clv) > 1`,
		`float(orders_count) > 1.5`, `none(tags, # == "x")`, `one(tags, # == "x")`,
		`len(filter(tags, # != "x")) > 0`, `len(map(tags, upper(#))) > 0`,
	} {
		if _, err := Compile(src); err != nil {
			t.Errorf("Compile(%q): %v", src, err)
		}
	}
}

func TestNamesAndBuiltins(t *testing.T) {
	names := Names()
	for _, want := range []string{
		"total_spent float", "rfm.segment string", "event.items[].sku string",
		"days_since func(time) int", "in_local_hour func(int, int) bool", "attributes map of any",
		"event.items list of item", "birthday time", "now time",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() lacks %q", want)
		}
	}
	// Every listed top-level or nested (non-list) name compiles in a rule
	// (journey in a journey's).
	for _, n := range names {
		path, typ, _ := strings.Cut(n, " ")
		if strings.Contains(path, "[]") || strings.HasPrefix(typ, "func") {
			continue
		}
		if _, err := CompileWith(path+" != nil", Options{Journey: true}); err != nil {
			t.Errorf("listed name %q does not compile: %v", path, err)
		}
	}
	b := Builtins()
	b[0] = "mutated"
	if Builtins()[0] == "mutated" {
		t.Fatal("Builtins exposes the allowlist itself")
	}
}

func TestEvalRuntimeErrors(t *testing.T) {
	// A range whose size comes from customer data cannot be judged at load:
	// the memory budget stops it at run time, with a position.
	p, err := Compile("all(1..orders_count * 1000, true)")
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(nil)
	env.OrdersCount = 1000
	start := time.Now()
	_, err = p.Eval(env)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "memory budget") || e.Column != 6 {
		t.Fatalf("range bomb: got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("budget took %s to stop the loop", d)
	}
	big, err := CompileWith("all(1..orders_count * 1000, true)", Options{MemoryBudget: 2_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := big.Eval(env); !ok || err != nil {
		t.Fatalf("raised budget: %v, %v", ok, err)
	}

	// An attribute of the wrong type fails at run time, with a position.
	p, err = Compile(`attr("plan") > 3`)
	if err != nil {
		t.Fatal(err)
	}
	env = NewEnv(nil)
	env.Attributes = map[string]any{"plan": "pro"}
	if _, err := p.Eval(env); !errors.As(err, &e) || e.Line != 1 {
		t.Fatalf("string > int: got %v", err)
	}

	// A rule that calls functions needs an Env from NewEnv; plain fields do not.
	p, _ = Compile(`has_tag("vip")`)
	if _, err := p.Eval(&Env{}); !errors.Is(err, errNoFuncs) {
		t.Fatalf("Env without functions: got %v", err)
	}
	p, _ = Compile(`total_spent >= 0`)
	if ok, err := p.Eval(&Env{}); !ok || err != nil {
		t.Fatalf("plain Env: %v, %v", ok, err)
	}
	if _, err := p.Eval(nil); err == nil {
		t.Fatal("nil Env accepted")
	}
}

// One Program shared by many goroutines, each with its own Env, gives the
// same answers as the same test written in Go (run with -race).
func TestConcurrentEval(t *testing.T) {
	p, err := Compile(`total_spent > 100 && has_tag("vip") && days_since(last_purchase_at) < 30`)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	const workers, customers = 8, 2000
	var wg sync.WaitGroup
	counts := make([]int, workers)
	for w := range workers {
		wg.Go(func() {
			env := NewEnv(nil)
			for i := range customers {
				ClearCustomer(env)
				env.Now = now
				env.TotalSpent = float64(i % 300)
				if i%3 == 0 {
					env.Tags = []string{"VIP"}
				}
				env.LastPurchaseAt = now.AddDate(0, 0, -(i % 60))
				ok, err := p.Eval(env)
				if err != nil {
					t.Error(err)
					return
				}
				want := i%300 > 100 && i%3 == 0 && i%60 < 30
				if ok != want {
					t.Errorf("customer %d: got %v, want %v", i, ok, want)
					return
				}
				if ok {
					counts[w]++
				}
			}
		})
	}
	wg.Wait()
	for w, c := range counts {
		if c == 0 || c != counts[0] {
			t.Fatalf("worker %d matched %d, worker 0 matched %d", w, c, counts[0])
		}
	}
}

// TestSlowRulesRejectedAtLoad: rules whose loops would take too many steps
// per customer fail at compile time with a position and a way out; loops of
// everyday size compile.
func TestSlowRulesRejectedAtLoad(t *testing.T) {
	for _, tc := range []struct {
		src     string
		col     int
		message string
	}{
		{"all(1..1000, all(1..1000, true))", 14, "about 2.0 million steps"},
		{"any(tags, any(tags, any(tags, # == 'x')))", 21, "limit 10,000"},
		{"count(1..100000, # > 5) > 0", 1, "rule is too slow"},
		{"all(1..orders_count, any(1..orders_count, # == 1))", 22, "avoid nesting loops"},
		{"total_spent > 1 && all(1..5000000000000, true)", 20, "billion"},
	} {
		_, err := Compile(tc.src)
		var e *Error
		if !errors.As(err, &e) || e.Line != 1 || e.Column != tc.col || !strings.Contains(e.Message, tc.message) {
			t.Errorf("%s: got %v, want 1:%d containing %q", tc.src, err, tc.col, tc.message)
		}
	}
	for _, ok := range []string{
		"any(event.items, .category == 'shoes' && .price > 50)",
		"all(1..1000, # > 0)",
		"count(tags, # in ['a', 'b']) > 1 && any(event.items, any(tags, # == 'vip'))",
		"sum(map(event.items, .price)) > 100",
	} {
		if _, err := Compile(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
