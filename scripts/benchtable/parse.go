package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// result is every value one benchmark reported for one unit, one per run.
type result struct {
	pkg, name, unit string
	values          []float64
}

// report is what a `go test -bench` output holds: results in the order they
// first appear, and the lines that say something failed.
type report struct {
	results  []*result
	failures []string
}

// benchLine matches a result line: name with its -GOMAXPROCS suffix, the
// iteration count, then value/unit pairs.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.+)$`)

// parse reads go test output (several packages, -count N) and gathers each
// benchmark's values per unit.
func parse(r io.Reader) (*report, error) {
	rep := &report{}
	index := map[string]*result{}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
			continue
		case isFailure(line):
			rep.failures = append(rep.failures, line)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fields := strings.Fields(m[3])
		if len(fields)%2 != 0 {
			return nil, fmt.Errorf("line %d: %q: want value/unit pairs after the iteration count", lineNo, line)
		}
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: value %q of %s is not a number", lineNo, fields[i], fields[i+1])
			}
			key := pkg + "\x00" + m[1] + "\x00" + fields[i+1]
			res := index[key]
			if res == nil {
				res = &result{pkg: pkg, name: m[1], unit: fields[i+1]}
				index[key] = res
				rep.results = append(rep.results, res)
			}
			res.values = append(res.values, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return rep, nil
}

// isFailure reports a line by which go test says a test, benchmark or
// package failed, or a panic.
func isFailure(line string) bool {
	return strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "FAIL") ||
		strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")
}

// median of the values; the mean of the middle two for an even count.
func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

// perRunUnits are the testing package's own per-iteration figures; for a
// benchmark that reports its own metrics one iteration is a whole scenario,
// so they say nothing and the table leaves them out.
var perRunUnits = []string{"ns/op", "B/op", "allocs/op"}

// rows returns the results to show: a benchmark's per-iteration figures only
// when it reports no metric of its own.
func (rep *report) rows() []*result {
	custom := map[string]bool{}
	for _, r := range rep.results {
		if !slices.Contains(perRunUnits, r.unit) {
			custom[r.pkg+"\x00"+r.name] = true
		}
	}
	var out []*result
	for _, r := range rep.results {
		if custom[r.pkg+"\x00"+r.name] && slices.Contains(perRunUnits, r.unit) {
			continue
		}
		out = append(out, r)
	}
	return out
}
