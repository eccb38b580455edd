package campaigns

import (
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// pos is a 1-based line and column in the campaign file.
type pos struct{ line, col int }

// splitLines keeps the source as rune lines so columns count characters, as
// YAML and expr do.
func splitLines(data []byte) [][]rune {
	raw := strings.Split(string(data), "\n")
	out := make([][]rune, len(raw))
	for i, l := range raw {
		out[i] = []rune(strings.TrimSuffix(l, "\r"))
	}
	return out
}

// scalarMap maps every rune offset of a scalar's value to its place in the
// file. Plain and quoted scalars start on the node's line (after the opening
// quote); block scalars (| and >) start on the next line at the block's
// indentation. Folding, escapes and indentation are walked in the source so
// that multi-line values map exactly. The result has one extra entry for the
// end of the value.
func (p *parser) scalarMap(n *yaml.Node) []pos {
	value := []rune(n.Value)
	out := make([]pos, 0, len(value)+1)
	w := sourceWalker{lines: p.lines, line: n.Line - 1, col: n.Column - 1, style: n.Style}
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		w.line, w.col, w.block = n.Line, 0, true
		w.indent = w.blockIndent()
		w.col = min(w.indent, w.lineLen())
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		w.col++
	}
	for _, v := range value {
		at, ok := w.match(v)
		if !ok {
			at = pos{n.Line, n.Column}
		}
		out = append(out, at)
	}
	end := pos{n.Line, n.Column}
	if len(out) > 0 {
		end = out[len(out)-1]
		end.col++
	}
	return append(out, end)
}

// textPos returns the file position of (line, col), both 1-based and counted
// in runes, inside the value of scalar n.
func (p *parser) textPos(n *yaml.Node, line, col int) pos {
	m := p.scalarMap(n)
	off, l := 0, 1
	value := []rune(n.Value)
	for off < len(value) && l < line {
		if value[off] == '\n' {
			l++
		}
		off++
	}
	for i := 1; i < col && off < len(value) && value[off] != '\n'; i++ {
		off++
	}
	return m[off]
}

// bytePos returns the file position of byte offset off in n's value.
func (p *parser) bytePos(n *yaml.Node, off int) pos {
	off = min(max(off, 0), len(n.Value))
	return p.scalarMap(n)[utf8.RuneCountInString(n.Value[:off])]
}

// sourceWalker advances through the file in step with a scalar's value.
type sourceWalker struct {
	lines     [][]rune
	line, col int // 0-based cursor
	style     yaml.Style
	block     bool
	indent    int
}

func (w *sourceWalker) lineLen() int {
	if w.line < len(w.lines) {
		return len(w.lines[w.line])
	}
	return 0
}

// blockIndent is the indentation of the first non-blank line of a block.
func (w *sourceWalker) blockIndent() int {
	for l := w.line; l < len(w.lines); l++ {
		s := string(w.lines[l])
		if strings.TrimSpace(s) != "" {
			return len(s) - len(strings.TrimLeft(s, " "))
		}
	}
	return 0
}

// at returns the source rune under the cursor; '\n' at line ends.
func (w *sourceWalker) at() (rune, bool) {
	if w.line >= len(w.lines) {
		return 0, false
	}
	if w.col >= len(w.lines[w.line]) {
		return '\n', w.line+1 < len(w.lines)
	}
	return w.lines[w.line][w.col], true
}

// advance moves the cursor one rune, skipping block indentation after a break.
func (w *sourceWalker) advance() {
	if w.col < w.lineLen() {
		w.col++
		return
	}
	w.line, w.col = w.line+1, 0
	if w.block {
		for w.col < w.indent && w.col < w.lineLen() && w.lines[w.line][w.col] == ' ' {
			w.col++
		}
	}
}

// match moves to the source rune that produced value rune v and returns its
// position. Whitespace in the value may come from any source whitespace
// (line folding); escapes in double-quoted scalars map to their backslash.
func (w *sourceWalker) match(v rune) (pos, bool) {
	for steps := 0; steps < 10000; steps++ {
		s, ok := w.at()
		if !ok {
			return pos{}, false
		}
		here := pos{w.line + 1, w.col + 1}
		if s == '\\' && w.style&yaml.DoubleQuotedStyle != 0 {
			if w.escape() {
				return here, true
			}
			continue
		}
		if s == v || (isSpace(v) && isSpace(s)) {
			w.advance()
			return here, true
		}
		w.advance()
	}
	return pos{}, false
}

// escape consumes a double-quoted escape; false for a line continuation,
// which produces no value rune.
func (w *sourceWalker) escape() bool {
	w.advance()
	s, _ := w.at()
	n := 1
	switch s {
	case '\n':
		w.advance()
		return false
	case 'x':
		n = 3
	case 'u':
		n = 5
	case 'U':
		n = 9
	}
	for range n {
		w.advance()
	}
	return true
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }
