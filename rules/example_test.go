package rules_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/rules"
)

func ExampleCompile() {
	_, err := rules.Compile("totl_spent > 100")
	var e *rules.Error
	if errors.As(err, &e) {
		fmt.Println(e.Line, e.Column, e.Suggestions)
		fmt.Println(err)
	}
	// Output:
	// 1 1 [total_spent]
	// 1:1: unknown name "totl_spent"; did you mean "total_spent"?
}

func ExampleProgram_Eval() {
	p, err := rules.Compile(`total_spent > 100 && has_tag("vip") && days_since(last_purchase_at) > 30`)
	if err != nil {
		panic(err)
	}
	env := rules.NewEnv(time.UTC) // one per goroutine, reused for every customer
	for _, c := range []struct {
		spent float64
		tags  []string
		last  time.Time
	}{
		{250, []string{"VIP"}, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{250, []string{"VIP"}, time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)},
		{50, nil, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)},
	} {
		rules.ClearCustomer(env)
		env.Now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		env.TotalSpent, env.Tags, env.LastPurchaseAt = c.spent, c.tags, c.last
		ok, err := p.Eval(env)
		fmt.Println(ok, err)
	}
	// Output:
	// true <nil>
	// false <nil>
	// false <nil>
}
