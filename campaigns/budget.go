package campaigns

import (
	"errors"
	"fmt"
	"strings"
	"text/template/parse"
	"time"
)

// Message templates run once per customer, in every worker, so one template
// that loops a billion times or writes gigabytes would take every worker
// down. Each render has a budget: validate rejects loops it can see are too
// long, and at run time a render that goes over fails for that customer
// with ErrTemplateBudget (the delivery is recorded as failed with the
// reason), never taking more than the limits below.
const (
	// MaxTemplateOutput caps what one message field (subject, text, html)
	// may produce, in bytes. Mail clients clip far shorter messages.
	MaxTemplateOutput = 256 << 10
	// MaxTemplateSteps caps the range iterations of one render, all fields
	// and nested loops together.
	MaxTemplateSteps = 10_000
	// MaxTemplateTime caps the wall time of one render.
	MaxTemplateTime = time.Second
	// templateListGuess is the length validate assumes for a list known only
	// at send time (.tags, .event.items): real ones hold a handful.
	templateListGuess = 50
)

// ErrTemplateBudget is wrapped by the error of a render that went over one
// of the limits above.
var ErrTemplateBudget = errors.New("template budget exceeded")

// stepFunc is the internal template function that counts range iterations;
// instrument calls it at the start of every range body.
const stepFunc = "_step"

// budgetKey holds a render's *budget in the template data. It is not an
// identifier, so no template can name it as a field.
const budgetKey = "-budget"

// budget is what one render may still spend.
type budget struct {
	steps    int
	deadline time.Time
	err      error // the first limit reached
}

func newBudget() *budget { return &budget{deadline: time.Now().Add(MaxTemplateTime)} }

// fail records the first exceeded limit and returns it.
func (b *budget) fail(format string, args ...any) error {
	if b.err == nil {
		b.err = fmt.Errorf("%w: %s", ErrTemplateBudget, fmt.Sprintf(format, args...))
	}
	return b.err
}

// step counts one range iteration and checks the clock every 64 of them.
func (b *budget) step() error {
	b.steps++
	if b.steps > MaxTemplateSteps {
		return b.fail("its loops ran more than %s times; loop over fewer items (e.g. range slice .list 0 10)",
			thousands(MaxTemplateSteps))
	}
	if b.steps%64 == 0 {
		return b.clock()
	}
	return nil
}

func (b *budget) clock() error {
	if time.Now().After(b.deadline) {
		return b.fail("it ran longer than %s", MaxTemplateTime)
	}
	return nil
}

// stepTemplateFunc is the template function behind stepFunc: it finds the
// render's budget in the root data ($) and prints nothing. Executions
// without a budget (the escaping check at load) are not counted.
func stepTemplateFunc(root any) (bool, error) {
	m, _ := root.(map[string]any)
	b, _ := m[budgetKey].(*budget)
	if b == nil {
		return false, nil
	}
	return false, b.step()
}

// limitedWriter collects one field's output up to MaxTemplateOutput.
type limitedWriter struct {
	strings.Builder
	b *budget
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > MaxTemplateOutput {
		return 0, w.b.fail("the message is longer than %d KiB", MaxTemplateOutput>>10)
	}
	if err := w.b.clock(); err != nil {
		return 0, err
	}
	return w.Builder.Write(p)
}

// instrument starts every range body of tree with {{ if _step $ }}{{ end }},
// which counts the iteration and prints nothing (an if, not an action, so
// that html/template's escaper leaves it alone in any context).
func instrument(tree *parse.Tree) {
	if tree != nil {
		instrumentList(tree.Root)
	}
}

func instrumentList(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, nd := range l.Nodes {
		switch x := nd.(type) {
		case *parse.RangeNode:
			instrumentList(x.List)
			instrumentList(x.ElseList)
			x.List.Nodes = append([]parse.Node{stepNode(x.Pos)}, x.List.Nodes...)
		case *parse.ListNode:
			instrumentList(x)
		default:
			if then, els, ok := branches(nd); ok {
				instrumentList(then)
				instrumentList(els)
			}
		}
	}
}

// branches returns the two lists of an if or with node.
func branches(nd parse.Node) (then, els *parse.ListNode, ok bool) {
	switch x := nd.(type) {
	case *parse.IfNode:
		return x.List, x.ElseList, true
	case *parse.WithNode:
		return x.List, x.ElseList, true
	}
	return nil, nil, false
}

func stepNode(at parse.Pos) parse.Node {
	call := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: at, Args: []parse.Node{
		parse.NewIdentifier(stepFunc).SetPos(at),
		&parse.VariableNode{NodeType: parse.NodeVariable, Pos: at, Ident: []string{"$"}},
	}}
	pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: at, Cmds: []*parse.CommandNode{call}}
	return &parse.IfNode{BranchNode: parse.BranchNode{NodeType: parse.NodeIf, Pos: at, Pipe: pipe,
		List: &parse.ListNode{NodeType: parse.NodeList, Pos: at}}}
}

// thousands prints 10000 as "10,000".
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// loopCheck estimates the range iterations of a template at load and
// reports, at its place in the file, the loop that takes the estimate over
// MaxTemplateSteps: a range over a large number, or ranges nested deep
// enough that lists of templateListGuess items multiply past it. It also
// rejects sub-template calls ({{ template }}, {{ block }}), whose loops the
// run-time budget could not count.
type loopCheck struct {
	c      *checker
	consts map[string]int // variables holding an integer literal
	total  int
}

const loopCap = 1 << 40 // estimates saturate here

func (c *checker) checkLoops(root *parse.ListNode) {
	lc := &loopCheck{c: c, consts: map[string]int{}}
	lc.list(root, 1)
}

func (lc *loopCheck) list(l *parse.ListNode, mult int) {
	if l == nil {
		return
	}
	for _, nd := range l.Nodes {
		switch x := nd.(type) {
		case *parse.ActionNode:
			lc.assign(x.Pipe)
		case *parse.RangeNode:
			lc.rangeNode(x, mult)
		case *parse.TemplateNode:
			lc.c.report(int(x.Pos), "{{ template %q }} is not available in messages; write the text in place", x.Name)
		default:
			if then, els, ok := branches(nd); ok {
				lc.list(then, mult)
				lc.list(els, mult)
			}
		}
	}
}

func (lc *loopCheck) rangeNode(x *parse.RangeNode, mult int) {
	n, literal := intArg(x.Pipe, lc.consts)
	if !literal {
		n = templateListGuess
	}
	inner := min(mult*max(n, 0), loopCap)
	before := lc.total
	lc.total = min(lc.total+inner, loopCap)
	if before <= MaxTemplateSteps && lc.total > MaxTemplateSteps {
		at := int(x.Pos)
		if literal && len(x.Pipe.Cmds) == 1 {
			at = int(x.Pipe.Cmds[0].Args[0].Position())
		}
		lc.c.report(at, "template loops run about %s times per message, more than the %s allowed; "+
			"loop fewer times and avoid nesting ranges (a list counts as %d items here)",
			thousands(lc.total), thousands(MaxTemplateSteps), templateListGuess)
	}
	lc.list(x.List, inner)
	lc.list(x.ElseList, mult)
}

// assign tracks {{ $n := 100000 }}: a variable (re)set to an integer
// literal holds it, set to anything else it is unknown.
func (lc *loopCheck) assign(p *parse.PipeNode) {
	if p == nil || len(p.Decl) != 1 {
		return
	}
	name := p.Decl[0].Ident[0]
	if n, ok := intArg(p, nil); ok {
		lc.consts[name] = n
	} else {
		delete(lc.consts, name)
	}
}

// intArg returns the integer a pipeline with one argument ranges over, when
// it is a literal or a variable known to hold one.
func intArg(p *parse.PipeNode, consts map[string]int) (int, bool) {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return 0, false
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.NumberNode:
		if a.IsInt {
			return int(min(max(a.Int64, -loopCap), loopCap)), true
		}
	case *parse.VariableNode:
		n, ok := consts[a.Ident[0]]
		return n, ok && len(a.Ident) == 1
	}
	return 0, false
}
