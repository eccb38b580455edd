package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parseFile(t *testing.T, name string) *report {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return rep
}

func find(t *testing.T, rows []*result, name, unit string) *result {
	t.Helper()
	for _, r := range rows {
		if r.name == name && r.unit == unit {
			return r
		}
	}
	t.Fatalf("no row %s %s in %d rows", name, unit, len(rows))
	return nil
}

// TestParseRulesCount3 reads a real -count 3 -benchmem run: one benchmark,
// three runs, the testing package's own units only, so they are shown.
func TestParseRulesCount3(t *testing.T) {
	rep := parseFile(t, "rules-count3.txt")
	rows := rep.rows()
	if len(rows) != 3 || len(rep.failures) != 0 {
		t.Fatalf("rows %d, failures %v; want ns/op, B/op and allocs/op of one benchmark", len(rows), rep.failures)
	}
	ns := find(t, rows, "BenchmarkEval", "ns/op")
	if ns.pkg != "github.com/tidings-crm/tidings/rules" || len(ns.values) != 3 || median(ns.values) != 3815 {
		t.Fatalf("ns/op row %+v, median %v; want 3 runs with median 3815", ns, median(ns.values))
	}
	if a := find(t, rows, "BenchmarkEval", "allocs/op"); median(a.values) != 5 {
		t.Fatalf("allocs/op median %v", median(a.values))
	}
}

// TestParseAudience reads a real run of a benchmark with its own metrics,
// with log lines between results: the per-iteration units are left out and
// each metric gets the median of its runs.
func TestParseAudience(t *testing.T) {
	rep := parseFile(t, "audience-count2.txt")
	rows := rep.rows()
	if len(rows) != 10 {
		t.Fatalf("%d rows; want 5 metrics for each of 2 sub-benchmarks", len(rows))
	}
	for _, r := range rows {
		if r.unit == "ns/op" {
			t.Fatalf("ns/op shown for %s, which reports its own metrics", r.name)
		}
		if len(r.values) != 2 {
			t.Fatalf("%s %s has %d values, want 2", r.name, r.unit, len(r.values))
		}
	}
	pg := find(t, rows, "BenchmarkAudience/postgres", "customers/s")
	if got := median(pg.values); got != (15111+37485)/2.0 {
		t.Fatalf("postgres customers/s median %v", got)
	}
	if rows[0].name != "BenchmarkAudience/postgres" || rows[len(rows)-1].name != "BenchmarkAudience/sqlite" {
		t.Fatalf("rows not in the order of the input: first %s, last %s", rows[0].name, rows[len(rows)-1].name)
	}
}

// TestFailingRunIsReported reads a real run where one benchmark failed: the
// good one is still tabled, and the failure lines are kept for the exit code.
func TestFailingRunIsReported(t *testing.T) {
	rep := parseFile(t, "failing.txt")
	if len(rep.failures) == 0 || !strings.Contains(rep.failures[0], "--- FAIL: BenchmarkBad") {
		t.Fatalf("failures %q; want the --- FAIL line first", rep.failures)
	}
	good := find(t, rep.rows(), "BenchmarkGood", "msgs/s")
	if len(good.values) != 2 || median(good.values) != 1234567 {
		t.Fatalf("good row %+v", good)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{5}, 5}, {[]float64{9, 1, 5}, 5}, {[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1000, 1, 1}, 1},
	} {
		in := append([]float64(nil), tc.in...)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Fatalf("median reordered its input %v", tc.in)
			}
		}
	}
}

func TestParseRejectsBrokenResultLine(t *testing.T) {
	_, err := parse(strings.NewReader("BenchmarkX-2   1   12 ns/op   34\n"))
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err %v; want a line-numbered error", err)
	}
	_, err = parse(strings.NewReader("BenchmarkX-2   1   fast ns/op\n"))
	if err == nil || !strings.Contains(err.Error(), `"fast"`) {
		t.Fatalf("err %v; want the bad value named", err)
	}
}

// TestWriteTable checks the printed table: machine line, header, one row per
// metric with median, run count and spread, thousands separators.
func TestWriteTable(t *testing.T) {
	rep := parseFile(t, "audience-count2.txt")
	var buf bytes.Buffer
	at := time.Date(2026, 12, 2, 4, 30, 0, 0, time.UTC)
	if err := write(&buf, rep, "Test CPU, 2 cores, 23 GiB RAM", at); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Machine: Test CPU, 2 cores, 23 GiB RAM; go", "2026-12-02 04:30 UTC",
		"| benchmark | metric | median | runs | min - max |",
		"| worker Audience/postgres | customers/s | 26,298 | 2 | 15,111 - 37,485 |",
		"| worker Audience/sqlite | ratio-to-stream | 0.775 | 2 | 0.705 - 0.844 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestMachineInfo(t *testing.T) {
	cpu := "processor\t: 0\nmodel name\t: AMD EPYC   9R14\nprocessor\t: 1\nmodel name\t: AMD EPYC   9R14\n"
	if model, n := cpuInfo(cpu, 8); model != "AMD EPYC 9R14" || n != 2 {
		t.Fatalf("cpuInfo = %q, %d", model, n)
	}
	if got := memInfo("MemTotal:       24589140 kB\nMemFree: 1 kB\n", "?"); got != "23 GiB RAM" {
		t.Fatalf("memInfo = %q", got)
	}
	if got := format(1234567.4); got != "1,234,567" {
		t.Fatalf("format = %q", got)
	}
	if got := format(-2500); got != "-2,500" {
		t.Fatalf("format = %q", got)
	}
}
