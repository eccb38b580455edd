package campaigns

import (
	"errors"
	htemplate "html/template"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	ttemplate "text/template"
	"text/template/parse"

	"go.yaml.in/yaml/v3"
)

// msgTemplate is one compiled message field (subject, text, html, sms text).
// It is parsed and checked once at load; per formatting locale it keeps one
// clone bound to that locale's date and money functions.
type msgTemplate struct {
	src      string
	html     bool
	origin   string              // a webhook url's fixed "scheme://host[:port]", which every render must keep
	textBase *ttemplate.Template // never executed: cloned per locale
	htmlBase *htemplate.Template

	mu       sync.RWMutex
	byLocale map[string]executor
}

type executor interface {
	Execute(w io.Writer, data any) error
}

var (
	parseErrRE = regexp.MustCompile(`^template: [^:]*:(\d+): (.*)$`)
	quotedRE   = regexp.MustCompile(`"([^"]+)"`)
)

// compileTemplate parses the template in scalar n and checks every field it
// uses against root, reporting problems at their exact place in the file.
func (p *parser) compileTemplate(n *yaml.Node, html bool, root *schema, what string) *msgTemplate {
	m := &msgTemplate{src: n.Value, html: html, byLocale: map[string]executor{}}
	var (
		tree *parse.Tree
		err  error
	)
	if html {
		m.htmlBase, err = htemplate.New("t").Funcs(funcMap("en")).Parse(n.Value)
		if err == nil {
			tree = m.htmlBase.Tree
		}
	} else {
		m.textBase, err = ttemplate.New("t").Funcs(funcMap("en")).Parse(n.Value)
		if err == nil {
			tree = m.textBase.Tree
		}
	}
	if err != nil {
		p.templateParseError(n, what, err)
		return nil
	}
	if tree == nil || tree.Root == nil {
		return m
	}
	c := &checker{p: p, n: n, src: n.Value, root: root, vars: map[string]*schema{"$": root}, what: what, tree: tree}
	c.list(tree.Root, root)
	c.checkLoops(tree.Root)
	if c.failed {
		return nil
	}
	instrument(tree)
	if html {
		p.checkEscaping(n, m, what)
	}
	return m
}

// templateParseError reports a parse error at its line; the column is that of
// the name the message quotes, else the first action on the line.
func (p *parser) templateParseError(n *yaml.Node, what string, err error) {
	msg := err.Error()
	line := 1
	if mm := parseErrRE.FindStringSubmatch(msg); mm != nil {
		line, _ = strconv.Atoi(mm[1])
		msg = mm[2]
	}
	col := 1
	lines := strings.Split(n.Value, "\n")
	if line >= 1 && line <= len(lines) {
		text := lines[line-1]
		idx := strings.Index(text, "{{")
		if q := quotedRE.FindStringSubmatch(msg); q != nil {
			if i := strings.Index(text, q[1]); i >= 0 {
				idx = i
			}
		}
		if idx >= 0 {
			col = len([]rune(text[:idx])) + 1
		}
	}
	at := p.textPos(n, line, col)
	p.add(SeverityError, at.line, at.col, "%s: template: %s", what, msg)
}

// checkEscaping runs html/template's contextual escaping once at load with
// empty data so that escaping errors surface now, not at the first send.
func (p *parser) checkEscaping(n *yaml.Node, m *msgTemplate, what string) {
	e, err := m.forLocale("en")
	if err != nil {
		p.errorf(n, "%s: %v", what, err)
		return
	}
	err = e.Execute(io.Discard, map[string]any{})
	var he *htemplate.Error
	if errors.As(err, &he) {
		at := pos{n.Line, n.Column}
		if he.Node != nil {
			at = p.bytePos(n, int(he.Node.Position()))
		}
		p.add(SeverityError, at.line, at.col, "%s: %s", what, he.Description)
	}
}

// forLocale returns the template bound to locale's formats, cloning it once
// per formatting locale.
func (m *msgTemplate) forLocale(locale string) (executor, error) {
	key := formatKey(locale)
	m.mu.RLock()
	e := m.byLocale[key]
	m.mu.RUnlock()
	if e != nil {
		return e, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.byLocale[key]; e != nil {
		return e, nil
	}
	if m.html {
		t, err := m.htmlBase.Clone()
		if err != nil {
			return nil, err
		}
		e = t.Funcs(funcMap(key))
	} else {
		t, err := m.textBase.Clone()
		if err != nil {
			return nil, err
		}
		e = t.Funcs(funcMap(key))
	}
	m.byLocale[key] = e
	return e, nil
}

// literalText returns the template's text outside actions (for SMS length).
func (m *msgTemplate) literalText() string {
	var tree *parse.Tree
	if m.html {
		tree = m.htmlBase.Tree
	} else {
		tree = m.textBase.Tree
	}
	var b strings.Builder
	if tree != nil && tree.Root != nil {
		for _, nd := range tree.Root.Nodes {
			if t, ok := nd.(*parse.TextNode); ok {
				b.Write(t.Text)
			}
		}
	}
	return b.String()
}
