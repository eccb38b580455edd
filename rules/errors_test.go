package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		line, col int
		msg       string // regular expression the message must match
		sugg      []string
	}{
		{"unknown name", "totl_spent > 100", 1, 1,
			`^unknown name "totl_spent"; did you mean "total_spent"\?$`, []string{"total_spent"}},
		{"unknown name, Go spelling", "orders_count > 1 && TotalSpent > 1", 1, 21,
			`unknown name "TotalSpent"; did you mean "total_spent"\?`, []string{"total_spent"}},
		{"unknown name, nested leaf", "segment == 'x'", 1, 1,
			`did you mean "rfm.segment"\?`, []string{"rfm.segment"}},
		{"unknown name, no match", "zzzzqqq > 1", 1, 1, `^unknown name "zzzzqqq"$`, nil},
		{"unknown field on second line", "orders_count > 1 and\n  rfm.segmnt == 'x'", 2, 7,
			`^unknown field "segmnt" of rfm; did you mean "rfm.segment"\?$`, []string{"rfm.segment"}},
		{"unknown item field in predicate", "any(event.items, .skuu == 'A1')", 1, 19,
			`unknown field "skuu" of event.items\[\]; did you mean "sku"\?`, []string{"sku"}},
		{"field of a string", "email.domain == 'x'", 1, 7, `a string value has no fields`, nil},
		{"position counts characters", "'é' == first_name && totl > 1", 1, 22, `unknown name "totl"`, nil},
		{"non-boolean number", "total_spent + 1", 1, 1,
			"must be true or false, but it gives a number \\(float\\); compare it, e.g. `total_spent \\+ 1 > 0`", nil},
		{"non-boolean text", "email", 1, 1, `must be true or false, but it gives text \(string\)`, nil},
		{"non-boolean list", "tags", 1, 1, "gives a list of string; compare it, e.g. `len\\(tags\\) > 0`", nil},
		{"type mismatch", "total_spent > 'a'", 1, 13, `mismatched types float64 and string`, nil},
		{"wrong argument type", "has_tag(1)", 1, 9, `^cannot use int as argument \(type string\) to call has_tag$`, nil},
		{"unknown function", "total_spent > 100 and lenn(tags) > 1", 1, 23,
			`^unknown function "lenn"; did you mean "len"\?$`, []string{"len"}},
		{"unknown env function", "has_tagg('vip')", 1, 1, `did you mean "has_tag"\?`, []string{"has_tag"}},
		{"field called", "now() > now", 1, 1, `"now" is a time, not a function`, nil},
		{"disabled builtin", "repeat('a', 3) == 'aaa'", 1, 1, `function "repeat" is not available in rules; allowed: all, `, nil},
		{"wall clock builtin", "date('2020-01-01') < now", 1, 1, `function "date" is not available`, nil},
		{"disabled predicate", "reduce(tags, #acc + 1, 0) > 1", 1, 1, `function "reduce" is not available`, nil},
		{"method call", "now.Year() > 2000", 1, 5, `methods are not available`, nil},
		{"method value", "now.Year != nil", 1, 5, `methods are not available in rules \("Year"\)`, nil},
		{"env object", "$env.total_spent > 1", 1, 1, `\$env is not available in rules`, nil},
		{"dynamic regexp", "email matches first_name", 1, 15, `matches needs a constant pattern`, nil},
		{"bad regexp", "email matches '['", 1, 7, `error parsing regexp`, nil},
		{"syntax: missing operand", "total_spent >", 1, 13, `^syntax error: unexpected token EOF$`, nil},
		{"syntax: stray operator", "total_spent > 100 &&& x", 1, 21, `^syntax error: unexpected token Operator\("&"\)$`, nil},
		{"syntax: open string", "email == 'abc", 1, 14, `literal not terminated`, nil},
		{"too long", strings.Repeat("x", DefaultMaxLength+1), 1, 1,
			`^rule is too long: 4097 bytes, limit 4096; split it or simplify$`, nil},
		{"too large", strings.Repeat("1 + ", 300) + "1 > 0", 1, 0,
			`^rule is too large: (\d+) nodes, limit 500; split it or simplify$`, nil},
		{"deeply nested", strings.Repeat("!", 1000) + "true", 1, 0, `^rule is too large: 1001 nodes, limit 500`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Compile(c.src)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want an error", c.src, p)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			if e.Line != c.line || (c.col != 0 && e.Column != c.col) {
				t.Errorf("position %d:%d, want %d:%d (%s)", e.Line, e.Column, c.line, c.col, e.Message)
			}
			if !regexp.MustCompile(c.msg).MatchString(e.Message) {
				t.Errorf("message %q does not match %q", e.Message, c.msg)
			}
			if !slices.Equal(e.Suggestions, c.sugg) {
				t.Errorf("suggestions %q, want %q", e.Suggestions, c.sugg)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("%d:%d: ", e.Line, e.Column)) {
				t.Errorf("Error() = %q lacks the position", err.Error())
			}
		})
	}
}

func TestTooLargeCountsNodes(t *testing.T) {
	src := strings.Repeat("1 + ", 300) + "1 > 0" // 301 numbers, 300 additions, 1 comparison, 1 zero
	_, err := CompileWith(src, Options{MaxNodes: 500})
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "rule is too large: 603 nodes, limit 500") {
		t.Fatalf("got %v", err)
	}
	if _, err := CompileWith(src, Options{MaxNodes: 1000}); err != nil {
		t.Fatalf("a raised limit should accept the rule: %v", err)
	}
}

func TestSuggestionsRanked(t *testing.T) {
	got := suggest("days_sinse", suggestionPool(true))
	if len(got) == 0 || got[0] != "days_since" {
		t.Fatalf("suggest(days_sinse) = %q", got)
	}
	if got := suggest("x", suggestionPool(false)); len(got) != 0 {
		t.Fatalf("a one-letter name should not match everything: %q", got)
	}
}
