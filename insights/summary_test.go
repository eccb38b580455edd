package insights

import (
	"math"
	"testing"
	"time"
)

// TestSummaryFromTransactionsCDNOW rebuilds the published 2,357-customer
// summary from the raw sample log (calibration end 1997-09-30, weeks) and
// compares every customer's x, t_x, T and zbar to the file's two decimals.
func TestSummaryFromTransactionsCDNOW(t *testing.T) {
	want := loadSummary(t)
	end := time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
	got := Summaries(loadSamplePurchases(t), end, 7*24*time.Hour)
	if len(got) != len(want) {
		t.Fatalf("%d customers, want %d", len(got), len(want))
	}
	byID := make(map[string]Summary, len(got))
	for _, s := range got {
		byID[s.CustomerID] = s
	}
	round := func(v float64) float64 { return math.Round(v*100) / 100 }
	bad := 0
	for _, w := range want {
		g, ok := byID[w.ID]
		if !ok {
			t.Fatalf("customer %s missing", w.ID)
		}
		if g.X != w.RFT.X || round(g.TX) != w.RFT.TX || round(g.T) != w.RFT.T || math.Abs(g.MonetaryMean-w.ZBar) > 0.0051 {
			bad++
			if bad <= 5 {
				t.Errorf("customer %s: got x=%g t_x=%.4f T=%.4f zbar=%.4f, want %+v zbar=%g", w.ID, g.X, g.TX, g.T, g.MonetaryMean, w.RFT, w.ZBar)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d customers differ", bad, len(want))
	}
}

// TestSummaryConventions pins lifetimes' conventions on a tiny log.
func TestSummaryConventions(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2024, 1, d, h, 0, 0, 0, time.UTC) }
	log := []Purchase{
		{"b", day(3, 9), 10},
		{"a", day(1, 9), 5},
		{"a", day(1, 18), 7},  // same date as the first: merged, not a repeat
		{"a", day(8, 12), 20}, // repeat 1
		{"a", day(8, 13), 4},  // same date: merged into repeat 1 (24)
		{"a", day(15, 0), 30}, // repeat 2, on the calibration end date: counts
		{"a", day(16, 0), 99}, // after calibration end: ignored
		{"c", day(20, 0), 99}, // first purchase after the end: no row
	}
	got := Summaries(log, day(15, 23), 7*24*time.Hour)
	want := []Summary{
		{CustomerID: "a", RFT: RFT{X: 2, TX: 2, T: 2}, MonetaryMean: 27},
		{CustomerID: "b", RFT: RFT{X: 0, TX: 0, T: 12.0 / 7}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].CustomerID != want[i].CustomerID || got[i].X != want[i].X || math.Abs(got[i].TX-want[i].TX) > 1e-12 ||
			math.Abs(got[i].T-want[i].T) > 1e-12 || got[i].MonetaryMean != want[i].MonetaryMean {
			t.Errorf("row %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if rft := SummaryFromTransactions(log, day(15, 23), 24*time.Hour); rft[0] != (RFT{X: 2, TX: 14, T: 14}) {
		t.Errorf("daily unit: got %+v", rft[0])
	}
}
