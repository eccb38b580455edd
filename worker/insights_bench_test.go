package worker

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store/storetest"
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
