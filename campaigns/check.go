package campaigns

import (
	"fmt"
	"strings"
	"text/template/parse"

	"go.yaml.in/yaml/v3"
)

// checker walks a template's parse tree and reports field chains that name
// nothing in the template data (.frist_name), at their place in the file.
type checker struct {
	p      *parser
	n      *yaml.Node
	src    string
	root   *schema
	vars   map[string]*schema
	what   string
	tree   *parse.Tree
	failed bool
}

func (c *checker) list(l *parse.ListNode, dot *schema) {
	if l == nil {
		return
	}
	for _, nd := range l.Nodes {
		c.node(nd, dot)
	}
}

func (c *checker) node(nd parse.Node, dot *schema) {
	switch x := nd.(type) {
	case *parse.ActionNode:
		c.pipe(x.Pipe, dot)
		c.guardDynamic(x)
	case *parse.IfNode:
		c.pipe(x.Pipe, dot)
		c.list(x.List, dot)
		c.list(x.ElseList, dot)
	case *parse.WithNode:
		s := c.pipe(x.Pipe, dot)
		c.list(x.List, s)
		c.list(x.ElseList, dot)
	case *parse.RangeNode:
		s := c.pipe(x.Pipe, dot)
		var elem *schema
		if s != nil && s.fields == nil && !s.open {
			elem = s.elem
		}
		if d := x.Pipe.Decl; len(d) > 0 {
			c.vars[d[len(d)-1].Ident[0]] = elem
			if len(d) == 2 {
				c.vars[d[0].Ident[0]] = leaf
			}
		}
		c.list(x.List, elem)
		c.list(x.ElseList, dot)
	case *parse.TemplateNode:
		c.pipe(x.Pipe, dot)
	case *parse.ListNode:
		c.list(x, dot)
	}
}

// pipe checks a pipeline and returns the schema of its value when it is a
// single field chain (nil otherwise: unchecked).
func (c *checker) pipe(p *parse.PipeNode, dot *schema) *schema {
	if p == nil {
		return nil
	}
	var result *schema
	for _, cmd := range p.Cmds {
		for _, a := range cmd.Args {
			r := c.arg(a, dot)
			if len(p.Cmds) == 1 && len(cmd.Args) == 1 {
				result = r
			}
		}
	}
	for _, d := range p.Decl {
		c.vars[d.Ident[0]] = result
	}
	return result
}

func (c *checker) arg(a parse.Node, dot *schema) *schema {
	switch x := a.(type) {
	case *parse.FieldNode:
		return c.chain(dot, "", x.Ident, int(x.Pos))
	case *parse.VariableNode:
		base, known := c.vars[x.Ident[0]]
		if !known {
			return nil
		}
		return c.chain(base, x.Ident[0], x.Ident[1:], int(x.Pos))
	case *parse.ChainNode:
		c.arg(x.Node, dot)
	case *parse.PipeNode:
		return c.pipe(x, dot)
	case *parse.DotNode:
		return dot
	}
	return nil
}

// chain resolves idents from s, reporting the first unknown name. prefix is
// the variable name ("$", "$item") or "" for a field chain on dot.
func (c *checker) chain(s *schema, prefix string, idents []string, at int) *schema {
	text := prefix + "." + strings.Join(idents, ".")
	start := at
	if i := strings.LastIndex(c.src[:min(len(c.src), at+len(text))], text); i >= 0 {
		start = i
	}
	off := start + len(prefix)
	for _, id := range idents {
		off++ // the dot
		if s == nil || s.open {
			return nil
		}
		if s.fields == nil {
			c.report(off, "%q has no fields: it is a single value%s", s.name, listHint(s))
			return nil
		}
		child, ok := s.fields[id]
		if !ok {
			c.report(off, "%s", unknownField(id, s))
			return nil
		}
		s = child
		off += len(id)
	}
	return s
}

func listHint(s *schema) string {
	if s.elem != nil {
		return fmt.Sprintf(" (a list: use {{ range .%s }})", s.name)
	}
	return ""
}

func unknownField(id string, s *schema) string {
	names := s.names()
	msg := fmt.Sprintf("unknown field %q", id)
	if s.name != "" {
		msg += fmt.Sprintf(" in .%s", s.name)
	}
	msg += didYouMean(id, names)
	switch {
	case s.name == "offer" && len(names) == 0:
		msg += " (this campaign defines no offer)"
	case s.name != "":
		msg += fmt.Sprintf(" (%s has: %s)", s.name, strings.Join(names, ", "))
	}
	return msg
}

func (c *checker) report(off int, format string, args ...any) {
	c.failed = true
	at := c.p.bytePos(c.n, off)
	c.p.add(SeverityError, at.line, at.col, "%s: %s", c.what, fmt.Sprintf(format, args...))
}

// guardDynamic makes a bare {{ .attributes.x }} print "" rather than
// "<no value>" when the customer has no such attribute.
func (c *checker) guardDynamic(a *parse.ActionNode) {
	p := a.Pipe
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) == 0 {
		return
	}
	last := p.Cmds[len(p.Cmds)-1]
	if len(last.Args) != 1 {
		return
	}
	var idents []string
	switch x := last.Args[0].(type) {
	case *parse.FieldNode:
		idents = x.Ident
	case *parse.VariableNode:
		if x.Ident[0] == "$" {
			idents = x.Ident[1:]
		}
	}
	if len(idents) < 2 || idents[0] != "attributes" {
		return
	}
	id := parse.NewIdentifier(emptyFunc).SetTree(c.tree).SetPos(last.Pos)
	p.Cmds = append(p.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: last.Pos, Args: []parse.Node{id}})
}
