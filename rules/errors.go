package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/expr-lang/expr/file"
	"github.com/tidings-crm/tidings/typo"
)

// Error is a rule that failed to compile (or, wrapped by Eval, to run): where
// the mistake is (1-based line and column, counted in characters within the
// rule source) and what it is, with close matches when a name is unknown.
type Error struct {
	Line, Column int
	Message      string
	Suggestions  []string
}

// Error formats the position and message as "line:column: message".
func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message) }

// errorAt builds an *Error at a rune offset of src.
func errorAt(src string, offset int, format string, args ...any) *Error {
	line, col := position(src, offset)
	return &Error{Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

// position converts a rune offset into a 1-based line and column.
func position(src string, offset int) (line, col int) {
	line, col = 1, 1
	n := 0
	for _, r := range src {
		if n >= offset {
			break
		}
		n++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

var noFieldRE = regexp.MustCompile(`^type (\S+) has no (?:field|method) (\S+)$`)

// translate turns an expr error into an *Error with a 1-based position and a
// message written for rule authors.
func translate(src string, err error) *Error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &Error{Line: 1, Column: 1, Message: err.Error()}
	}
	// file.Error counts lines from 1 and columns from 0 (in runes).
	msg := strings.TrimSpace(fe.Message)
	out := &Error{Line: max(fe.Line, 1), Column: fe.Column + 1, Message: msg}
	if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
		out.Suggestions = suggest(name, suggestionPool(false))
		out.Message = fmt.Sprintf("unknown name %q", name) + didYouMean(out.Suggestions)
		return out
	}
	if m := noFieldRE.FindStringSubmatch(msg); m != nil {
		out.Message, out.Suggestions = unknownField(m[1], m[2])
		return out
	}
	if strings.HasPrefix(msg, "unexpected token") || msg == "unexpected end of expression" {
		out.Message = "syntax error: " + msg
	}
	return out
}

// unknownField explains a field that does not exist on typ.
func unknownField(typ, field string) (string, []string) {
	c := envCatalog()
	tags, ok := c.structs[typ]
	if !ok {
		return fmt.Sprintf("%q is not available here: a %s value has no fields", field, friendlyGoType(typ)), nil
	}
	prefix := c.structPfx[typ]
	var pool []string
	nested := strings.Contains(prefix, "[]")
	for _, t := range tags {
		if nested {
			pool = append(pool, t) // written as `.sku` inside a predicate
		} else {
			pool = append(pool, prefix+t)
		}
	}
	name := field
	if !nested {
		name = prefix + field
	}
	sugg := suggest(name, pool)
	where := strings.TrimSuffix(prefix, ".")
	return fmt.Sprintf("unknown field %q of %s", field, where) + didYouMean(sugg), sugg
}

// friendlyGoType names a Go type reported by expr in rule terms.
func friendlyGoType(t string) string {
	switch t {
	case "float64":
		return "number"
	case "int":
		return "whole number"
	case "time.Time":
		return "time"
	case "interface {}":
		return "untyped"
	}
	return t
}

// didYouMean formats suggestions as `; did you mean "a" or "b"?`.
func didYouMean(s []string) string {
	if len(s) == 0 {
		return ""
	}
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) == 1 {
		return "; did you mean " + q[0] + "?"
	}
	return "; did you mean " + strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1] + "?"
}

// maxSuggestions caps how many close matches an error lists.
const maxSuggestions = 3

// suggest returns up to maxSuggestions names from pool close to name, closest
// first. A nested candidate also matches on its last part, so "segment"
// suggests "rfm.segment"; case and underscores are ignored as a last resort,
// so "TotalSpent" suggests "total_spent".
func suggest(name string, pool []string) []string {
	type hit struct {
		name string
		dist int
	}
	limit := 1 + len(name)/4
	var hits []hit
	n := len([]rune(name))
	for _, cand := range pool {
		d := typo.Distance(name, cand)
		if d >= n || d >= len(cand) {
			d = limit + 1 // a rewrite, not a typo
		}
		if i := strings.LastIndexByte(cand, '.'); i >= 0 {
			leaf := cand[i+1:]
			if dl := typo.Distance(name, leaf); dl < n && dl < len(leaf) {
				d = min(d, dl)
			}
		}
		if fold(name) == fold(cand) {
			d = min(d, 1)
		}
		if d <= limit {
			hits = append(hits, hit{cand, d})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.dist - b.dist })
	var out []string
	for _, h := range hits {
		if !slices.Contains(out, h.name) {
			out = append(out, h.name)
		}
		if len(out) == maxSuggestions {
			break
		}
	}
	return out
}

// fold lower-cases s and drops underscores.
func fold(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "") }
