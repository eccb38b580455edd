package rules

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr/ast"
	"golang.org/x/text/language"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/typo"
)

// Some string fields only ever hold one of a known set of values: a
// lifecycle stage, an RFM segment of the segment map, an IANA time zone, a
// BCP 47 locale. A rule comparing one with a misspelt literal
// (lifecycle == "activ") type-checks, runs, and selects nobody. valueCheck
// rejects such literals at load, at their column, with the closest valid
// value. The empty string is always accepted: it is how a customer without
// a zone, a locale or scores yet is written.

// closedField checks one literal compared with a field; it returns an empty
// message when the field can hold the value, else the problem and close
// matches.
type closedField func(value string) (msg string, sugg []string)

// closedFields maps a field path as written in rules to its checker. The
// sets come from where the values are made: insights for stages and
// segments, the zone database, x/text/language.
func closedFields(segments []string) map[string]closedField {
	return map[string]closedField{
		"lifecycle":   stageOf(oneOf("lifecycle stage", insights.Stages())),
		"rfm.segment": oneOf("RFM segment", segments),
		"abc":         oneOf("ABC class", []string{"A", "B", "C"}),
		"time_zone":   checkZone,
		"locale":      checkLocale,
	}
}

// defaultSegments are the segment names of insights' default segment map.
var defaultSegments = sync.OnceValue(func() []string { return insights.DefaultSegmentMap().Names() })

// oneOf accepts the values of a fixed set.
func oneOf(what string, values []string) closedField {
	return func(v string) (string, []string) {
		if slices.Contains(values, v) {
			return "", nil
		}
		sugg := closest(v, values)
		if len(sugg) == 0 {
			return fmt.Sprintf("unknown %s %q; use one of: %s", what, v, strings.Join(values, ", ")), nil
		}
		return fmt.Sprintf("unknown %s %q", what, v) + didYouMean(sugg), sugg
	}
}

// renamedStages are the first round's lifecycle stages, replaced by the
// CRM notes' stages (docs/intelligence.md): a rule written for them says so.
var renamedStages = map[string][]string{"active": {"growing", "mature"}, "loyal": {"mature", "growing"}}

// stageOf is check, with a rule naming a renamed stage told what replaced it.
func stageOf(check closedField) closedField {
	return func(v string) (string, []string) {
		if now, ok := renamedStages[v]; ok {
			return fmt.Sprintf("lifecycle stage %q no longer exists: stages follow the volume trend now "+
				"(prospect, new, growing, mature, declining, churned); use %q or %q", v, now[0], now[1]), now
		}
		return check(v)
	}
}

// checkZone accepts the IANA zone names Go can load (not "Local", which
// would depend on the server).
func checkZone(v string) (string, []string) {
	if v != "Local" && loadLocation(v) != nil {
		return "", nil
	}
	sugg := closest(v, zoneNames())
	if len(sugg) == 0 {
		return fmt.Sprintf("unknown time zone %q; use an IANA name such as \"Europe/Paris\" or \"America/New_York\"", v), nil
	}
	return fmt.Sprintf("unknown time zone %q", v) + didYouMean(sugg), sugg
}

// checkLocale accepts well-formed BCP 47 tags whose subtags are known
// ("fr", "fr-CA", "pt_BR"); locales are open-ended, so there is no list to
// suggest from.
func checkLocale(v string) (string, []string) {
	_, err := language.Parse(v)
	if err == nil {
		return "", nil
	}
	why := "it is not a BCP 47 language tag"
	var ve interface{ Subtag() string }
	if errors.As(err, &ve) {
		why = fmt.Sprintf("the subtag %q is not a known language, script or region", ve.Subtag())
	}
	return fmt.Sprintf("unknown locale %q: %s; write a tag such as \"en\", \"fr-CA\" or \"pt-BR\"", v, why), nil
}

// closest keeps the suggestions for v that are as close as the best one:
// among hundreds of zones, "Europe/Pari" means Paris, not Madrid too.
func closest(v string, pool []string) []string {
	sugg := suggest(v, pool)
	if len(sugg) < 2 {
		return sugg
	}
	best := typo.Distance(fold(v), fold(sugg[0]))
	return slices.DeleteFunc(sugg, func(s string) bool { return typo.Distance(fold(v), fold(s)) > best })
}

// zoneDirs are where zone tables are looked for, as the time package does.
var zoneDirs = []string{"/usr/share/zoneinfo", "/usr/share/lib/zoneinfo", "/usr/lib/locale/TZ", "/etc/zoneinfo"}

// zoneNames lists canonical zone names for suggestions, read once from the
// system's zone tables (only when a rule names an unknown zone); empty when
// the system has none, which only costs the suggestion.
var zoneNames = sync.OnceValue(func() []string {
	names := []string{"UTC"}
	dirs := zoneDirs
	if d := os.Getenv("ZONEINFO"); d != "" {
		dirs = append([]string{d}, dirs...)
	}
	for _, dir := range dirs {
		for _, tab := range []string{"zone1970.tab", "zone.tab"} {
			names = append(names, readZoneTab(filepath.Join(dir, tab))...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
})

// readZoneTab reads the zone names (third column) of a zone.tab file.
func readZoneTab(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) >= 3 && !strings.HasPrefix(cols[0], "#") {
			out = append(out, cols[2])
		}
	}
	return out
}

// valueCheck walks a type-checked rule and reports the leftmost literal
// compared with a closed field (==, !=, in, not in, either side of ==) that
// the field can never hold.
type valueCheck struct {
	policy
	fields map[string]closedField
}

// checkValues returns the leftmost unknown literal as an *Error, or nil.
func checkValues(src string, node ast.Node, segments []string) *Error {
	if segments == nil {
		segments = defaultSegments()
	}
	vc := &valueCheck{policy: policy{src: src}, fields: closedFields(segments)}
	ast.Walk(&node, vc)
	return vc.first
}

// Visit implements ast.Visitor.
func (vc *valueCheck) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok {
		return
	}
	switch b.Operator {
	case "==", "!=":
		vc.compare(b.Left, b.Right)
		vc.compare(b.Right, b.Left)
	case "in": // "not in" is not(in)
		if arr, ok := b.Right.(*ast.ArrayNode); ok {
			for _, el := range arr.Nodes {
				vc.compare(b.Left, el)
			}
		}
	}
}

// compare checks lit when it is a string literal and field a closed field.
func (vc *valueCheck) compare(field, lit ast.Node) {
	s, ok := lit.(*ast.StringNode)
	if !ok || s.Value == "" {
		return
	}
	check := vc.fields[vc.path(field)]
	if check == nil {
		return
	}
	if msg, sugg := check(s.Value); msg != "" && vc.fail(s, "%s", msg) {
		vc.first.Suggestions = sugg
	}
}

// path names an Env field read directly ("lifecycle") or through a constant
// member ("rfm.segment"); "" for anything else. A rule cannot declare a
// variable named like an Env field (expr refuses to redeclare it), so an
// identifier with a field's name is that field.
func (vc *valueCheck) path(n ast.Node) string {
	switch n := n.(type) {
	case *ast.ChainNode:
		return vc.path(n.Node)
	case *ast.IdentifierNode:
		return n.Value
	case *ast.MemberNode:
		prop, ok := n.Property.(*ast.StringNode)
		if root := vc.path(n.Node); ok && root != "" && !strings.Contains(root, ".") {
			return root + "." + prop.Value
		}
	}
	return ""
}
