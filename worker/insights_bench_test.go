package worker

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/store/synth"
)

// BenchmarkRefreshCDNOW imports the full CDNOW log (23,570 customers, 69,659
// purchases; not timed) and times a complete refresh as of 1998-07-01: both
// streaming passes, the BG/NBD and Gamma-Gamma fits, and every write.
//
//	go test -run '^$' -bench RefreshCDNOW -benchtime 3x ./worker/
func BenchmarkRefreshCDNOW(b *testing.B) {
	master := cdnowFile(b, "CDNOW_master.txt")
	at := time.Date(1998, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, dialect := range storetest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			st := storetest.Open(b, dialect)
			started := time.Now()
			importFile(b, st, master)
			b.Logf("%s: imported the master log in %s", dialect, time.Since(started).Round(time.Millisecond))
			var rep InsightsReport
			b.ResetTimer()
			for b.Loop() {
				var err error
				if rep, err = RefreshInsights(context.Background(), st, at, InsightsOptions{Log: quiet()}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if rep.Customers != 23570 || !rep.Fitted {
				b.Fatalf("refreshed %d customers, fitted %v", rep.Customers, rep.Fitted)
			}
			b.ReportMetric(float64(rep.Customers)/rep.Elapsed.Seconds(), "customers/s")
			b.Logf("%s: refresh of %d customers in %s (fit pass %s, score pass %s); BG/NBD %+v",
				dialect, rep.Customers, rep.Elapsed.Round(time.Millisecond), rep.FitTime.Round(time.Millisecond),
				rep.ScoreTime.Round(time.Millisecond), rep.Models.BG)
		})
	}
}

// BenchmarkRefreshSynthetic times a complete refresh over synthetic purchase
// histories drawn as the BG/NBD model assumes (synth.EnsureHistories; the
// fill is not timed): the demo's 5,000 customers on SQLite, what `tidings
// demo` refreshes at every start (it took 35-68 s while the fit was
// degenerate), and TIDINGS_BENCH_CUSTOMERS (default 1,000,000) on
// PostgreSQL. It reports the refresh, fit and score times, customers/s and
// the fit's likelihood evaluations, and fails when the fit did not converge
// or a forecast was not finite.
//
//	TIDINGS_BENCH_CUSTOMERS=100000 go test -run '^$' -bench RefreshSynthetic -benchtime 1x ./worker/
func BenchmarkRefreshSynthetic(b *testing.B) {
	big := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("TIDINGS_BENCH_CUSTOMERS")); err == nil && v > 0 {
		big = v
	}
	model, err := insights.ParseCountModel(os.Getenv("TIDINGS_CHURN_MODEL"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	for _, size := range []struct {
		n int
		d store.Dialect
	}{{5000, store.SQLite}, {big, store.Postgres}} {
		b.Run(fmt.Sprintf("%d/%s", size.n, size.d), func(b *testing.B) {
			ctx := context.Background()
			st := storetest.Open(b, size.d)
			started := time.Now()
			if _, err := synth.EnsureHistories(ctx, st, size.n, 1, now); err != nil {
				b.Fatal(err)
			}
			b.Logf("filled %d synthetic customers with purchases in %s", size.n, time.Since(started).Round(time.Millisecond))
			var rep InsightsReport
			for b.Loop() {
				var err error
				if rep, err = RefreshInsights(ctx, st, now, InsightsOptions{Model: model, Log: quiet()}); err != nil {
					b.Fatal(err)
				}
			}
			if rep.Customers != size.n || !rep.Fitted || len(rep.Warnings) > 0 {
				b.Fatalf("refreshed %d of %d customers, fitted %v, warnings %v", rep.Customers, size.n, rep.Fitted, rep.Warnings)
			}
			b.ReportMetric(rep.Elapsed.Seconds(), "refresh-s")
			b.ReportMetric(rep.FitTime.Seconds(), "fit-pass-s")
			b.ReportMetric(rep.ScoreTime.Seconds(), "score-pass-s")
			b.ReportMetric(float64(rep.Customers)/rep.Elapsed.Seconds(), "customers/s")
			b.Logf("%s, Gamma-Gamma %+v", rep.Models.CountParams(), rep.Models.GG)
		})
	}
}
