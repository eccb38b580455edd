// Package loadgen is the benchmarks' HTTP load: a handler served on a free
// loopback port as "tidings serve" would, keep-alive clients posting for a
// window, and the figures every ingest benchmark reports (requests/s, p50,
// p99). It is for benchmarks only; each keeps its own requests and its own
// check that what was accepted was stored.
package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Window is TIDINGS_BENCH_DURATION, or def when it is not set.
func Window(def time.Duration) (time.Duration, error) {
	v := os.Getenv("TIDINGS_BENCH_DURATION")
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("TIDINGS_BENCH_DURATION=%q: write a Go duration such as 20s or 1m", v)
	}
	return d, nil
}

// Serve serves h on a free loopback port with serve's timeouts until the
// benchmark ends, and returns its base URL ("http://127.0.0.1:port") and
// the server (Shutdown it to let in-flight work finish before counting).
func Serve(tb testing.TB, h http.Handler) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go srv.Serve(ln) //nolint:errcheck // ErrServerClosed at the end
	tb.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), srv, nil
}

// Client is a keep-alive client for n concurrent connections that does not
// follow redirects (a redirect is the answer being measured); close it when
// done.
func Client(n int) (*http.Client, func()) {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, tr.CloseIdleConnections
}

// Done, returned by a request function, ends its client without error (it
// has nothing more to send).
var Done = errors.New("loadgen: client done")

// Result is what a run measured: requests answered, the run's wall time and
// the latency percentiles.
type Result struct {
	N        int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// Rate is TIDINGS_BENCH_RATE, the requests per second Run offers (0, the
// default: as fast as the clients go).
func Rate() (float64, error) {
	v := os.Getenv("TIDINGS_BENCH_RATE")
	if v == "" {
		return 0, nil
	}
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r < 0 {
		return 0, fmt.Errorf("TIDINGS_BENCH_RATE=%q: requests per second, e.g. 5000", v)
	}
	return r, nil
}

// Run has clients goroutines call do(client, n) (n counting that client's
// requests from 0) until window has passed, each call returning its
// latency. With TIDINGS_BENCH_RATE set the clients offer that many
// requests per second between them, and a request sent late counts its
// lateness in its latency (a server falling behind shows in p99). The first
// error other than Done fails the run. The benchmark's timer runs only
// during the window.
func Run(b *testing.B, clients int, window time.Duration, do func(c, n int) (time.Duration, error)) (Result, error) {
	rate, err := Rate()
	if err != nil {
		return Result{}, err
	}
	lat := make([][]time.Duration, clients)
	fails := make([]error, clients)
	b.ResetTimer()
	start := time.Now()
	deadline := start.Add(window)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for n := 0; time.Now().Before(deadline); n++ {
				var late time.Duration
				if rate > 0 {
					due := start.Add(time.Duration(float64(n*clients+c) / rate * float64(time.Second)))
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait) // the offered rate is the scenario, not a wait for a result
					} else {
						late = -wait
					}
				}
				took, err := do(c, n)
				took += late
				if errors.Is(err, Done) {
					return
				}
				if err != nil {
					fails[c] = err
					return
				}
				lat[c] = append(lat[c], took)
			}
		})
	}
	wg.Wait()
	r := Result{Elapsed: time.Since(start)}
	b.StopTimer()
	if err := errors.Join(fails...); err != nil {
		return r, err
	}
	all := slices.Concat(lat...)
	if r.N = len(all); r.N == 0 {
		return r, fmt.Errorf("no request answered in %v", window)
	}
	slices.Sort(all)
	r.P50, r.P99 = all[len(all)/2], all[len(all)*99/100]
	return r, nil
}

// Report reports r as the benchmark's figures: unit per second (e.g.
// "events/s"), p50-ms and p99-ms; ns/op means nothing here and is zeroed.
func (r Result) Report(b *testing.B, unit string) {
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(r.N)/r.Elapsed.Seconds(), unit)
	b.ReportMetric(float64(r.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
}

// Once measures a benchmark once per process and reports the figures on
// every call: "make bench" runs a benchmark function more than once (b.N =
// 1, then -benchtime 1x again), and one timed window is the measurement.
type Once struct {
	once sync.Once
	figs Result
	err  error
}

// Report runs measure the first time, then reports its figures (unit per
// second, p50, p99) or fails the benchmark with its error.
func (o *Once) Report(b *testing.B, unit string, measure func(*testing.B) (Result, error)) {
	o.once.Do(func() { o.figs, o.err = measure(b) })
	if o.err != nil {
		b.Fatal(o.err)
	}
	o.figs.Report(b, unit)
}
