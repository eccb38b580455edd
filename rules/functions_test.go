package rules

import (
	"strconv"
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// evalRule compiles src and evaluates it against env, failing the test on any error.
func evalRule(t *testing.T, src string, env *Env) bool {
	t.Helper()
	p, err := Compile(src)
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	ok, err := p.Eval(env)
	if err != nil {
		t.Fatalf("eval %q: %v", src, err)
	}
	return ok
}

func TestAge(t *testing.T) {
	auckland := mustLoad(t, "Pacific/Auckland")
	lateFeb28 := time.Date(2026, 2, 28, 23, 30, 0, 0, time.UTC) // already 1 March in Auckland
	cases := []struct {
		name     string
		birthday time.Time
		now      time.Time
		zone     string
		def      *time.Location
		want     int
	}{
		{"birthday today", date(1990, 3, 1), time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), "", nil, 36},
		{"birthday tomorrow", date(1990, 3, 2), time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), "", nil, 35},
		{"birthday yesterday", date(1990, 2, 28), time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), "", nil, 36},
		{"local date ahead of UTC", date(1990, 3, 1), lateFeb28, "Pacific/Auckland", nil, 36},
		{"same instant in UTC", date(1990, 3, 1), lateFeb28, "UTC", nil, 35},
		{"same instant in New York", date(1990, 3, 1), lateFeb28, "America/New_York", nil, 35},
		{"default zone used when empty", date(1990, 3, 1), lateFeb28, "", auckland, 36},
		{"default zone used when invalid", date(1990, 3, 1), lateFeb28, "Mars/Olympus_Mons", auckland, 36},
		{"29 Feb, 28 Feb of common year", date(2000, 2, 29), date(2025, 2, 28), "", nil, 24},
		{"29 Feb, 1 Mar of common year", date(2000, 2, 29), date(2025, 3, 1), "", nil, 25},
		{"29 Feb, leap day", date(2000, 2, 29), date(2028, 2, 29), "", nil, 28},
		{"29 Feb, day before leap day", date(2000, 2, 29), date(2028, 2, 28), "", nil, 27},
		{"unknown birthday", time.Time{}, date(2026, 1, 1), "", nil, -1},
		{"birthday in the future", date(2030, 1, 1), date(2026, 1, 1), "", nil, -1},
		{"born today", date(2026, 1, 1), date(2026, 1, 1), "", nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := NewEnv(c.def)
			env.Birthday, env.Now, env.TimeZone = c.birthday, c.now, c.zone
			if got := env.Age(); got != c.want {
				t.Fatalf("age() = %d, want %d", got, c.want)
			}
			if !evalRule(t, "age() == "+strconv.Itoa(c.want), env) {
				t.Fatalf("rule age() == %d was false", c.want)
			}
		})
	}
}

func TestInLocalHour(t *testing.T) {
	now := time.Date(2026, 6, 15, 21, 30, 0, 0, time.UTC)
	cases := []struct {
		zone     string
		from, to int
		want     bool
	}{
		{"Europe/Berlin", 22, 6, true}, // 23:30 local, window wraps past midnight
		{"Europe/Berlin", 9, 18, false},
		{"Europe/Berlin", 23, 24, true},
		{"Europe/Berlin", 0, 23, false},
		{"Europe/Berlin", 7, 7, false}, // empty window
		{"", 21, 22, true},             // default zone (UTC): 21:30
		{"", 22, 6, false},
		{"America/Los_Angeles", 9, 18, true}, // 14:30
		{"Asia/Tokyo", 22, 6, false},         // 06:30 the next day
		{"Asia/Tokyo", 22, 7, true},
		{"Asia/Tokyo", 6, 7, true},
		{"Not/AZone", 21, 22, true}, // invalid zone falls back to the default
	}
	for _, c := range cases {
		env := NewEnv(time.UTC)
		env.Now, env.TimeZone = now, c.zone
		src := "in_local_hour(" + strconv.Itoa(c.from) + ", " + strconv.Itoa(c.to) + ")"
		if got := evalRule(t, src, env); got != c.want {
			t.Errorf("%s in %q at %s = %v, want %v", src, c.zone, now, got, c.want)
		}
	}
}

func TestDaysFunctions(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		rule string
		last time.Time
		want bool
	}{
		{"days_since(last_purchase_at) == 8", time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC), true}, // 8 days 23 h
		{"days_since(last_purchase_at) == 9", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), true},
		{"days_since(last_purchase_at) == -1", time.Time{}, true},
		{"days_since(last_purchase_at) == 0", now.Add(6 * time.Hour), true},
		{"days_until(last_purchase_at) == 1", now.Add(36 * time.Hour), true},
		{"days_until(last_purchase_at) == -1", time.Time{}, true},
		{"within_days(last_purchase_at, 10)", now.AddDate(0, 0, -9), true},
		{"within_days(last_purchase_at, 10)", now.AddDate(0, 0, -10), true},
		{"within_days(last_purchase_at, 10)", now.AddDate(0, 0, -11), false},
		{"within_days(last_purchase_at, 10)", now.Add(time.Hour), false},
		{"within_days(last_purchase_at, 10)", time.Time{}, false},
		{"last_purchase_at < now", now.Add(-time.Hour), true},
	}
	for _, c := range cases {
		env := NewEnv(nil)
		env.Now, env.LastPurchaseAt = now, c.last
		if got := evalRule(t, c.rule, env); got != c.want {
			t.Errorf("%s with last purchase %s = %v, want %v", c.rule, c.last, got, c.want)
		}
	}
}

func TestTagsAttributesAndFields(t *testing.T) {
	env := NewEnv(nil)
	env.Tags = []string{"VIP", "Newsletter"}
	env.Attributes = map[string]any{"plan": "pro", "score": 7.5, "vip": true}
	env.TotalSpent, env.OrdersCount, env.Lifecycle = 250, 4, "mature"
	env.RFM = RFM{R: 5, F: 4, M: 5, Score: "545", Segment: "champions"}
	env.Event = Event{Type: "purchase", Amount: 120, Items: []Item{
		{SKU: "A1", Category: "shoes", Quantity: 1, Price: 80},
		{SKU: "B2", Category: "socks", Quantity: 2, Price: 20},
	}}
	cases := []struct {
		rule string
		want bool
	}{
		{`has_tag("vip")`, true},
		{`has_tag("NEWSLETTER")`, true},
		{`has_tag("vip ")`, false},
		{`has_tag("news")`, false},
		{`"VIP" in tags`, true},
		{`attr("plan") == "pro"`, true},
		{`attr("score") > 7`, true},
		{`attr("missing") == nil`, true},
		{`attr("vip") == true`, true},
		{`attributes.plan == "pro"`, true},
		{`total_spent > 100 && orders_count >= 3 && lifecycle in ["growing", "mature"]`, true},
		{`rfm.segment == "champions" && rfm.r >= 4 && rfm.score startsWith "5"`, true},
		{`event.type == "purchase" && any(event.items, .category == "shoes" && .price > 50)`, true},
		{`count(event.items, .quantity > 1) == 1 && sum(event.items, .price * .quantity) == 120`, true},
		{`all(event.items, .price > 50)`, false},
		{`lower(lifecycle) == "mature" && len(tags) == 2`, true},
		{`not email_consent`, true},
		{`let big = total_spent > 200; big and orders_count > 1`, true},
	}
	for _, c := range cases {
		if got := evalRule(t, c.rule, env); got != c.want {
			t.Errorf("%s = %v, want %v", c.rule, got, c.want)
		}
	}
	env.Tags = nil
	if evalRule(t, `has_tag("vip")`, env) {
		t.Error("has_tag on no tags was true")
	}
}

func TestClearCustomerKeepsFunctionsAndClock(t *testing.T) {
	env := NewEnv(nil)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	env.Now, env.ID, env.Email, env.TotalSpent = now, 7, "a@example.com", 99
	env.Tags = []string{"vip"}
	env.Event.Amount = 10
	ClearCustomer(env)
	if env.ID != 0 || env.Email != "" || env.TotalSpent != 0 || env.Tags != nil || env.Event.Amount != 0 {
		t.Fatalf("customer fields survived: %+v", env)
	}
	if !env.Now.Equal(now) {
		t.Fatalf("Now = %s, want %s", env.Now, now)
	}
	// The functions still read this Env's fields after clearing.
	env.Tags = []string{"gold"}
	if !evalRule(t, `has_tag("GOLD") && days_since(last_purchase_at) == -1`, env) {
		t.Fatal("functions lost or not bound to the cleared Env")
	}
}

func TestLocationCache(t *testing.T) {
	env := NewEnv(nil)
	env.Now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	zonesUsed := []string{"Europe/Lisbon", "Asia/Kolkata", "Bogus/Zone"}
	for _, z := range zonesUsed { // warm the cache
		env.TimeZone = z
		env.InLocalHour(0, 24)
	}
	before := zoneLoads.Load()
	for range 100 {
		for _, z := range zonesUsed {
			env2 := NewEnv(nil) // a fresh memo, so the shared cache is what answers
			env2.Now, env2.TimeZone = env.Now, z
			env2.InLocalHour(0, 24)
		}
	}
	if n := zoneLoads.Load() - before; n != 0 {
		t.Fatalf("time.LoadLocation called %d more times for cached zones", n)
	}
	if loadLocation("Local") != nil {
		t.Fatal(`"Local" must not resolve to the server's zone`)
	}
}
