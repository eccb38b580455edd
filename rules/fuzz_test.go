package rules

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzCompile feeds arbitrary text to Compile: it must never panic, every
// error must be an *Error whose position lies inside the source (or just past
// its end), and a program that compiles must evaluate without panicking.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		"", "true", "totl_spent > 100", "total_spent + 1", "rfm.segmnt == 'x'",
		"total_spent > 100 and\n  lifecycle == 5", "has_tag('VIP') && in_local_hour(22, 6)",
		"any(event.items, .category == 'shoes' && .price > 50)", "now.Year() > 1", "$env['email'] == ''",
		"reduce(tags, #acc + 1, 0) > 1", "all(1..1000, all(1..1000, true))", "email matches '^a'",
		"'é' == first_name && totl > 1", "let x = 1; x > 0", "attr('plan') == 'pro'",
		strings.Repeat("(", 300) + "true" + strings.Repeat(")", 300), strings.Repeat("!", 600) + "true",
		"age() >= 18 ? true : false", `lifecycle not in ["activ"]`, `"Europe/Pari" == time_zone`, `locale == "xx"`, "tags | count(# == 'a') > 0", "1 / 0 > 1", "\"\\u00e9\" == email",
	} {
		f.Add(seed)
	}
	env := NewEnv(nil)
	env.Now = time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC)
	env.Tags, env.TotalSpent = []string{"VIP"}, 120
	env.Attributes = map[string]any{"plan": "pro", "n": 3}
	env.Event.Items = []Item{{SKU: "A", Category: "shoes", Price: 60}}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile(src)
		if err != nil {
			checkPosition(t, src, err)
			return
		}
		if p.Source() != src {
			t.Fatalf("Source() = %q, want %q", p.Source(), src)
		}
		if _, err := p.Eval(env); err != nil {
			checkPosition(t, src, err)
		}
	})
}

func checkPosition(t *testing.T, src string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %q is not *Error", err, err)
	}
	if e.Message == "" {
		t.Fatal("empty message")
	}
	lines := strings.Split(src, "\n")
	if e.Line < 1 || e.Line > len(lines) {
		t.Fatalf("line %d outside 1..%d (%s)", e.Line, len(lines), e.Message)
	}
	if n := utf8.RuneCountInString(lines[e.Line-1]); e.Column < 1 || e.Column > n+1 {
		t.Fatalf("column %d outside 1..%d on line %d (%s)", e.Column, n+1, e.Line, e.Message)
	}
}
