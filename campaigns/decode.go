package campaigns

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parser collects every problem of one file while walking its YAML nodes.
type parser struct {
	file     string
	lines    [][]rune // source lines, for exact positions inside scalars
	problems []Problem
	// suggested holds keys offered as corrections of unknown keys, so that
	// a misspelt required key is not also reported as missing.
	suggested map[string]bool
	root      *yaml.Node // the campaign mapping, for file-level problems
	settings  Settings
	// readsTopics is set when a rule of the file calls subscribed().
	readsTopics bool
	sendTime    *yaml.Node // the trigger's at or cron, for the quiet-hours warning
}

func (p *parser) add(sev Severity, line, col int, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.file, Line: line, Col: col, Severity: sev, Message: fmt.Sprintf(format, args...)})
}

// errorf records an error at node n.
func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.add(SeverityError, n.Line, n.Column, format, args...)
}

// warnf records a warning at node n.
func (p *parser) warnf(n *yaml.Node, format string, args ...any) {
	p.add(SeverityWarning, n.Line, n.Column, format, args...)
}

// fields is a checked mapping: value nodes by key, and the key nodes.
type fields struct {
	node *yaml.Node
	val  map[string]*yaml.Node
	key  map[string]*yaml.Node
}

// get returns the value node for key, or nil when absent.
func (f fields) get(key string) *yaml.Node {
	if f.val == nil {
		return nil
	}
	return f.val[key]
}

// resolve follows aliases so anchors work anywhere.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mapping checks that n is a mapping with only known keys (reporting unknown
// keys with a suggestion and the valid keys, and duplicates). With known nil
// any key is accepted. ok is false when n is not a mapping.
func (p *parser) mapping(n *yaml.Node, where string, known []string) (fields, bool) {
	n = resolve(n)
	f := fields{node: n, val: map[string]*yaml.Node{}, key: map[string]*yaml.Node{}}
	if n == nil || n.Kind != yaml.MappingNode {
		if n != nil {
			p.errorf(n, "%s must be a mapping (key: value lines), not %s", where, describe(n))
		}
		return f, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		name := k.Value
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: keys must be plain words", where)
			continue
		}
		if prev, dup := f.key[name]; dup {
			p.errorf(k, "duplicate key %q in %s (first at line %d)", name, where, prev.Line)
			continue
		}
		if known != nil && !slices.Contains(known, name) {
			p.suggest(closest(name, known))
			p.errorf(k, "unknown key %q in %s%s (valid keys: %s)", name, where, didYouMean(name, known), strings.Join(known, ", "))
			continue
		}
		f.key[name], f.val[name] = k, v
	}
	return f, true
}

func (p *parser) suggest(key string) {
	if p.suggested == nil {
		p.suggested = map[string]bool{}
	}
	p.suggested[key] = true
}

// describe names a node's kind for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "this"
}

// str reads a scalar as a string.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	n = resolve(n)
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s must be a text value, not %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

// integer reads a scalar as an int.
func (p *parser) integer(n *yaml.Node, what string) (int, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		p.errorf(n, "%s must be a whole number, not %q", what, s)
		return 0, false
	}
	return v, true
}

// number reads a scalar as a float64.
func (p *parser) number(n *yaml.Node, what string) (float64, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		p.errorf(n, "%s must be a number, not %q", what, s)
		return 0, false
	}
	return v, true
}

// boolean reads a scalar as true or false.
func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.errorf(n, "%s must be true or false, not %q", what, s)
	return false, false
}

// oneOf reads a scalar that must be one of the allowed words.
func (p *parser) oneOf(n *yaml.Node, what string, allowed ...string) (string, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return "", false
	}
	if slices.Contains(allowed, s) {
		return s, true
	}
	p.errorf(n, "%s must be one of %s, not %q%s", what, strings.Join(allowed, ", "), s, didYouMean(s, allowed))
	return "", false
}

// list returns the items of a sequence node (a single scalar is accepted
// as a one-item list).
func (p *parser) list(n *yaml.Node, what string) []*yaml.Node {
	n = resolve(n)
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.SequenceNode:
		out := make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			out[i] = resolve(c)
		}
		return out
	case n.Kind == yaml.ScalarNode && n.Tag != "!!null":
		return []*yaml.Node{n}
	}
	p.errorf(n, "%s must be a list, not %s", what, describe(n))
	return nil
}

// isSlug reports whether s is a lower-case identifier usable in ledger keys
// and URLs: letters, digits, '-' and '_', starting with a letter or digit.
func isSlug(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '-' || r == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}
