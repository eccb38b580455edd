package insights

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultSegmentMapYAML is the default RFM segment map, in the format
// ParseSegmentMap reads. Patterns are over the R and F scores; the first
// segment (top to bottom) whose pattern matches wins. It covers all 25 R/F
// cells; "lost" is carved out of the hibernating corner.
const DefaultSegmentMapYAML = `
champions:           ["5[4-5]"]
loyal:               ["[3-4][4-5]"]
potential_loyalists: ["[4-5][2-3]"]
new:                 ["51"]
promising:           ["41"]
need_attention:      ["33"]
about_to_sleep:      ["3[1-2]"]
cannot_lose:         ["[1-2]5"]
at_risk:             ["[1-2][3-4]"]
lost:                ["11"]
hibernating:         ["[1-2][1-2]"]
`

// SegmentMap names the RFM score combinations. It is compiled to a table of
// all 125 (R, F, M) cells, so a lookup is one array index. The zero value is
// not usable; use DefaultSegmentMap or ParseSegmentMap.
type SegmentMap struct {
	names []string
	cells [125]uint8 // index into names
}

// DefaultSegmentMap returns the map defined by DefaultSegmentMapYAML.
func DefaultSegmentMap() SegmentMap {
	m, err := ParseSegmentMap([]byte(DefaultSegmentMapYAML))
	if err != nil {
		panic("insights: default segment map is invalid: " + err.Error()) // a constant; covered by tests
	}
	return m
}

// Names returns the segment names in priority order.
func (m SegmentMap) Names() []string { return append([]string(nil), m.names...) }

// Segment returns the segment of scores r, f, m (each 1-5), or "" when a
// score is out of range (not scored yet).
func (m SegmentMap) Segment(r, f, mon int) string {
	if r < 1 || r > 5 || f < 1 || f > 5 || mon < 1 || mon > 5 || len(m.names) == 0 {
		return ""
	}
	return m.names[m.cells[cellIndex(r, f, mon)]]
}

func cellIndex(r, f, m int) int { return (r-1)*25 + (f-1)*5 + (m - 1) }

var segmentName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ParseSegmentMap reads a segment map from YAML (JSON is accepted too, being
// YAML): a mapping from segment name to a list of score patterns (or one
// pattern string), in priority order. A pattern has two positions (R, F) or
// three (R, F, M); each position is a digit 1-5, a class such as [4-5] or
// [135], or * for any score. Every (R, F, M) cell must be matched by some
// segment, so no customer is left unnamed.
func ParseSegmentMap(data []byte) (SegmentMap, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return SegmentMap{}, fmt.Errorf("insights: segment map: %w", err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return SegmentMap{}, fmt.Errorf("insights: segment map: want a mapping of segment name to patterns")
	}
	doc := root.Content[0]
	if len(doc.Content)/2 > 255 {
		return SegmentMap{}, fmt.Errorf("insights: segment map: %d segments, at most 255", len(doc.Content)/2)
	}
	var m SegmentMap
	assigned := [125]bool{}
	for i := 0; i < len(doc.Content); i += 2 {
		key, val := doc.Content[i], doc.Content[i+1]
		if !segmentName.MatchString(key.Value) {
			return SegmentMap{}, fmt.Errorf("insights: segment map line %d: segment name %q: use lower_snake_case", key.Line, key.Value)
		}
		patterns, err := patternList(val)
		if err != nil {
			return SegmentMap{}, fmt.Errorf("insights: segment map line %d: segment %s: %w", val.Line, key.Value, err)
		}
		idx := uint8(len(m.names))
		m.names = append(m.names, key.Value)
		for _, p := range patterns {
			sets, err := parsePattern(p)
			if err != nil {
				return SegmentMap{}, fmt.Errorf("insights: segment map line %d: segment %s: %w", val.Line, key.Value, err)
			}
			for c := 0; c < 125; c++ {
				r, f, mon := c/25, c/5%5, c%5
				if !assigned[c] && sets[0][r] && sets[1][f] && sets[2][mon] {
					assigned[c], m.cells[c] = true, idx
				}
			}
		}
	}
	var missing []string
	for c := 0; c < 125; c += 5 { // report by R/F cell; M holes are rare
		for k := c; k < c+5; k++ {
			if !assigned[k] {
				missing = append(missing, fmt.Sprintf("%d%d%d", c/25+1, c/5%5+1, k%5+1))
				break
			}
		}
	}
	if len(missing) > 0 {
		return SegmentMap{}, fmt.Errorf("insights: segment map: score cells (RFM) %s match no segment; add a catch-all such as other: [\"**\"]", strings.Join(missing, ", "))
	}
	return m, nil
}

func patternList(n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("patterns must be strings such as \"[4-5][4-5]\"")
			}
			out = append(out, c.Value)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no patterns")
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of patterns such as [\"[4-5][4-5]\"]")
}

// parsePattern turns "5[4-5]" into per-position score sets (index 0 = score
// 1); a two-position pattern accepts any M.
func parsePattern(p string) ([3][5]bool, error) {
	var sets [3][5]bool
	pos, i := 0, 0
	for i < len(p) {
		if pos == 3 {
			return sets, fmt.Errorf("pattern %q: more than three positions (R, F, M)", p)
		}
		switch c := p[i]; {
		case c >= '1' && c <= '5':
			sets[pos][c-'1'] = true
			i++
		case c == '*':
			sets[pos] = [5]bool{true, true, true, true, true}
			i++
		case c == '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return sets, fmt.Errorf("pattern %q: unclosed [", p)
			}
			if err := parseClass(p[i+1:i+end], &sets[pos]); err != nil {
				return sets, fmt.Errorf("pattern %q: %w", p, err)
			}
			i += end + 1
		default:
			return sets, fmt.Errorf("pattern %q: unexpected %q; use digits 1-5, [a-b] classes or *", p, c)
		}
		pos++
	}
	if pos < 2 {
		return sets, fmt.Errorf("pattern %q: want two positions (R, F) or three (R, F, M)", p)
	}
	if pos == 2 {
		sets[2] = [5]bool{true, true, true, true, true}
	}
	return sets, nil
}

// parseClass reads the inside of a [...] class: digits and a-b ranges.
func parseClass(s string, set *[5]bool) error {
	if s == "" {
		return fmt.Errorf("empty class []")
	}
	digit := func(c byte) bool { return c >= '1' && c <= '5' }
	for i := 0; i < len(s); {
		if !digit(s[i]) {
			return fmt.Errorf("class [%s]: %q is not a score 1-5", s, s[i])
		}
		lo, hi := s[i], s[i]
		i++
		if i+1 < len(s) && s[i] == '-' {
			if !digit(s[i+1]) || s[i+1] < lo {
				return fmt.Errorf("class [%s]: bad range", s)
			}
			hi = s[i+1]
			i += 2
		}
		for d := lo; d <= hi; d++ {
			set[d-'1'] = true
		}
	}
	return nil
}
