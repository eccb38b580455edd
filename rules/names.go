package rules

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// allowedBuiltins is the explicit allowlist of expr builtins a rule may call.
// Everything else expr ships with is disabled: date, now, duration and
// timezone (they read the wall clock or load zones; `now` is an Env field),
// repeat, split, join, replace and the JSON/base64 codecs (they build large
// values a rule does not need), and reduce, groupBy, sortBy, sort, find* and
// friends (loops and allocations beyond what an audience test needs).
var allowedBuiltins = []string{
	// Lists and predicates: all(list, pred), any, none, one, filter, map, count, sum.
	"all", "any", "none", "one", "filter", "map", "count", "sum",
	// Sizes and text.
	"len", "lower", "upper", "trim", "hasPrefix", "hasSuffix",
	// Numbers.
	"abs", "ceil", "floor", "round", "min", "max", "int", "float",
}

// Builtins returns the names of the expr builtin functions rules may call, in
// addition to the Env functions listed by Names. Operators such as in,
// contains, startsWith, endsWith, matches (constant patterns only), and, or,
// not and the comparisons are always available.
func Builtins() []string { return slices.Clone(allowedBuiltins) }

// nameInfo describes one identifier a rule may use.
type nameInfo struct {
	path string // e.g. "total_spent", "rfm.segment", "event.items[].sku"
	typ  string // a rule author's type name, e.g. "float", "func(time) int"
	fn   bool   // a callable Env function field
}

// catalog is every Env name, built once by reflection so it never drifts
// from env.go.
type catalog struct {
	names []nameInfo
	funcs map[string]bool // top-level function fields
	// nestedFuncs are the function fields of Env's structs, by path
	// ("journey.sent"): a rule calls them like the top-level ones.
	nestedFuncs map[string]bool
	fields      map[string]string   // top-level non-function fields -> type
	structs     map[string][]string // Go type name (e.g. "rules.RFM") -> field tags
	structPfx   map[string]string   // Go type name -> path prefix for suggestions ("rfm.")
}

var envCatalog = sync.OnceValue(buildCatalog)

func buildCatalog() *catalog {
	c := &catalog{
		funcs:       map[string]bool{},
		nestedFuncs: map[string]bool{},
		fields:      map[string]string{},
		structs:     map[string][]string{},
		structPfx:   map[string]string{},
	}
	c.addStruct(reflect.TypeFor[Env](), "", true)
	return c
}

var timeType = reflect.TypeFor[time.Time]()

// addStruct records the expr-tagged fields of t under prefix.
func (c *catalog) addStruct(t reflect.Type, prefix string, top bool) {
	key := t.String()
	if _, seen := c.structs[key]; !seen {
		c.structPfx[key] = prefix
	}
	var tags []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("expr")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		tags = append(tags, tag)
		path := prefix + tag
		info := nameInfo{path: path, typ: typeName(f.Type), fn: f.Type.Kind() == reflect.Func}
		c.names = append(c.names, info)
		if info.fn && !top {
			c.nestedFuncs[path] = true
		}
		if top {
			if info.fn {
				c.funcs[tag] = true
			} else {
				c.fields[tag] = info.typ
			}
		}
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != timeType:
			c.addStruct(f.Type, path+".", false)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			c.addStruct(f.Type.Elem(), path+"[].", false)
		}
	}
	c.structs[key] = tags
}

// typeName renders t the way the rule documentation talks about types.
func typeName(t reflect.Type) string {
	switch {
	case t == timeType:
		return "time"
	case t.Kind() == reflect.Func:
		in := make([]string, t.NumIn())
		for i := range in {
			in[i] = typeName(t.In(i))
		}
		out := ""
		if t.NumOut() == 1 {
			out = " " + typeName(t.Out(0))
		}
		return "func(" + strings.Join(in, ", ") + ")" + out
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "int"
	case reflect.Float64:
		return "float"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Interface:
		return "any"
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Elem())
	case reflect.Struct:
		return strings.ToLower(t.Name())
	}
	return t.String()
}

// Names lists every identifier a rule may use with its type, one per entry as
// "name type", in env.go order: plain fields ("total_spent float"), nested
// fields ("rfm.segment string"), list element fields usable inside
// predicates ("event.items[].sku string", written `.sku` in
// `any(event.items, .sku == "X1")`) and functions ("days_since func(time) int").
// It is meant for help output and documentation.
func Names() []string {
	names := envCatalog().names
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n.path + " " + n.typ
	}
	return out
}

// suggestionPool is every name an author might have meant at the top level:
// Env paths (nested ones too) and allowed builtins.
func suggestionPool(funcsOnly bool) []string {
	c := envCatalog()
	var pool []string
	for _, n := range c.names {
		if strings.Contains(n.path, "[]") || (funcsOnly && (!n.fn || c.nestedFuncs[n.path])) {
			continue
		}
		pool = append(pool, n.path)
	}
	if funcsOnly {
		pool = append(pool, allowedBuiltins...)
	}
	return pool
}
