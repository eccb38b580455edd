package rules

import (
	"testing"
	"time"
)

func benchEnv() *Env {
	env := NewEnv(time.UTC)
	env.Now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	env.TotalSpent, env.OrdersCount, env.Lifecycle = 150.5, 3, "growing"
	env.RFM = RFM{R: 5, F: 4, M: 4, Score: "544", Segment: "champions"}
	env.EmailConsent, env.DaysSinceLastPurchase, env.Tags = true, 40, []string{"new", "VIP"}
	env.Birthday, env.TimeZone = time.Date(1990, 3, 1, 0, 0, 0, 0, time.UTC), "Europe/Berlin"
	env.LastPurchaseAt = env.Now.AddDate(0, 0, -40)
	return env
}

func benchRule(b *testing.B, src string) {
	p, err := Compile(src)
	if err != nil {
		b.Fatal(err)
	}
	env := benchEnv()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Eval(env); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkEval is a typical five-clause audience over plain fields.
func BenchmarkEval(b *testing.B) {
	benchRule(b, `total_spent > 100 && orders_count >= 2 && lifecycle in ["growing", "mature"] && rfm.r >= 4 && days_since_last_purchase < 90`)
}

// BenchmarkEvalFunctions is a five-clause audience using the Env functions.
func BenchmarkEvalFunctions(b *testing.B) {
	benchRule(b, `has_tag("vip") && in_local_hour(9, 18) && age() >= 18 && email_consent && days_since(last_purchase_at) > 30`)
}

func BenchmarkEvalParallel(b *testing.B) {
	p, err := Compile(`total_spent > 100 && orders_count >= 2 && lifecycle in ["growing", "mature"] && rfm.r >= 4 && days_since_last_purchase < 90`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		env := benchEnv()
		for pb.Next() {
			if ok, err := p.Eval(env); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(`total_spent > 100 && has_tag("vip") && rfm.segment in ["champions", "loyal"] && days_since(last_purchase_at) > 30`); err != nil {
			b.Fatal(err)
		}
	}
}
