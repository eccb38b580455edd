// Command benchtable reads `go test -bench ... -count N` output on stdin and
// prints a Markdown table: one row per benchmark and metric with the median
// of the N runs and their spread, under a line naming the machine (CPU model,
// cores, memory, Go version, date). It exits 1 when the output reports a
// failure, after printing the failing lines, so `make bench` fails with it.
//
//	go test -run '^$' -bench . -count 3 ./rules | go run ./scripts/benchtable
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go test -run '^$' -bench . -count 3 ./pkg | benchtable")
		flag.PrintDefaults()
	}
	flag.Parse()
	rep, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	if err := write(os.Stdout, rep, machine(), time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	if len(rep.failures) > 0 {
		fmt.Fprintln(os.Stderr, "benchtable: the benchmark run failed:")
		for _, l := range rep.failures {
			fmt.Fprintln(os.Stderr, "  "+l)
		}
		os.Exit(1)
	}
}

// write prints the machine line and the table.
func write(w io.Writer, rep *report, host string, now time.Time) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Machine: %s; %s; %s\n\n", host, runtime.Version(), now.UTC().Format("2006-01-02 15:04 UTC"))
	rows := rep.rows()
	if len(rows) == 0 {
		fmt.Fprintln(bw, "(no benchmark results in the input)")
		return bw.Flush()
	}
	fmt.Fprintln(bw, "| benchmark | metric | median | runs | min - max |")
	fmt.Fprintln(bw, "| --- | --- | ---: | ---: | --- |")
	for _, r := range rows {
		lo, hi := r.values[0], r.values[0]
		for _, v := range r.values {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %d | %s - %s |\n", label(r), r.unit, format(median(r.values)),
			len(r.values), format(lo), format(hi))
	}
	return bw.Flush()
}

// label is the package's last element and the benchmark name without its
// "Benchmark" prefix, e.g. "worker Audience/postgres".
func label(r *result) string {
	name := strings.TrimPrefix(r.name, "Benchmark")
	if r.pkg == "" {
		return name
	}
	return path.Base(r.pkg) + " " + name
}

// format shows large figures as whole numbers with thousands separators and
// small ones with three significant digits.
func format(v float64) string {
	if math.Abs(v) >= 100 {
		s := strconv.FormatInt(int64(math.Round(v)), 10)
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var b strings.Builder
		for i, ch := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(ch)
		}
		if neg {
			return "-" + b.String()
		}
		return b.String()
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// machine names the CPU model, the cores and the memory, from /proc where
// there is one.
func machine() string {
	cpu, cores := "unknown CPU", runtime.NumCPU()
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		cpu, cores = cpuInfo(string(data), cores)
	}
	mem := "memory unknown"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = memInfo(string(data), mem)
	}
	return fmt.Sprintf("%s, %d cores, %s, %s/%s", cpu, cores, mem, runtime.GOOS, runtime.GOARCH)
}

// cpuInfo reads the model name and the processor count of /proc/cpuinfo.
func cpuInfo(text string, fallback int) (string, int) {
	model, n := "unknown CPU", 0
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			if model == "unknown CPU" {
				model = strings.Join(strings.Fields(v), " ")
			}
		case "processor":
			n++
		}
	}
	if n == 0 {
		n = fallback
	}
	return model, n
}

// memInfo reads MemTotal of /proc/meminfo as GiB.
func memInfo(text, fallback string) string {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err == nil {
				return fmt.Sprintf("%.0f GiB RAM", kb/(1<<20))
			}
		}
	}
	return fallback
}
