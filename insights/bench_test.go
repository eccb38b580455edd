package insights

import (
	"bufio"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cdnowMaster reads the full 23,570-customer CDNOW log from the shared data
// folder (TIDINGS_CDNOW_DIR, default /work/shared/data/cdnow); it is 2 MB,
// so it is not copied into testdata. Tests using it skip when it is absent.
func cdnowMaster(tb testing.TB) []Purchase {
	tb.Helper()
	dir := os.Getenv("TIDINGS_CDNOW_DIR")
	if dir == "" {
		dir = "/work/shared/data/cdnow"
	}
	f, err := os.Open(filepath.Join(dir, "CDNOW_master.txt"))
	if err != nil {
		tb.Skipf("CDNOW master log not available: %v", err)
	}
	defer f.Close()
	var out []Purchase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 {
			continue // header
		}
		at, err := time.Parse("20060102", fs[1])
		if err != nil {
			continue
		}
		amount, _ := strconv.ParseFloat(fs[3], 64)
		out = append(out, Purchase{CustomerID: fs[0], At: at, Amount: amount})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// statsFromLog builds the store-style metrics per customer, counting one
// order per purchase date (as the models assume).
func statsFromLog(log []Purchase, end time.Time) []CustomerStats {
	byID := map[string]*CustomerStats{}
	var order []string
	lastDay := map[string]int64{}
	for _, p := range log {
		if p.At.After(end) {
			continue
		}
		c, ok := byID[p.CustomerID]
		if !ok {
			id, _ := strconv.ParseInt(p.CustomerID, 10, 64)
			c = &CustomerStats{ID: id, FirstPurchaseAt: p.At}
			byID[p.CustomerID] = c
			order = append(order, p.CustomerID)
		}
		if d := dayNumber(p.At); !ok || d != lastDay[p.CustomerID] {
			c.Orders++
			lastDay[p.CustomerID] = d
		}
		c.TotalSpent += p.Amount
		if p.At.Before(c.FirstPurchaseAt) {
			c.FirstPurchaseAt = p.At
		}
		if p.At.After(c.LastPurchaseAt) {
			c.LastPurchaseAt = p.At
		}
	}
	out := make([]CustomerStats, len(order))
	for i, id := range order {
		out[i] = *byID[id]
	}
	return out
}

var cdnowCalibrationEnd = time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)

// TestFitModelsFullCDNOW fits the full base from the raw log with
// FitModels and checks that store-style metrics counted in purchase days
// (statsFromLog, what the refresh hands the scorer) give every customer the
// model inputs the fit read, then scores it.
func TestFitModelsFullCDNOW(t *testing.T) {
	log := cdnowMaster(t)
	m, err := FitModels(log, cdnowCalibrationEnd, 0, ModelBGNBD)
	if err != nil {
		t.Fatal(err)
	}
	stats := statsFromLog(log, cdnowCalibrationEnd)
	if len(stats) != 23570 {
		t.Fatalf("%d customers, want 23570", len(stats))
	}
	sums := map[int64]RFT{}
	for _, s := range Summaries(log, cdnowCalibrationEnd, 0) {
		id, _ := strconv.ParseInt(s.CustomerID, 10, 64)
		sums[id] = s.RFT
	}
	for _, c := range stats {
		if got := StatsRFT(c, cdnowCalibrationEnd, 0); got != sums[c.ID] {
			t.Fatalf("customer %d: metrics give %+v, the summary %+v", c.ID, got, sums[c.ID])
		}
	}
	t.Logf("full CDNOW BG/NBD %+v, GG %+v", m.BG, m.GG)
	// The 1/10 sample is a random sample of this base: estimates are close.
	within(t, "r vs sample", m.BG.R, paperParams.R, 0.15)
	within(t, "alpha vs sample", m.BG.Alpha, paperParams.Alpha, 0.15)
	res, err := Score(stats, cdnowCalibrationEnd, ScoreOptions{Models: &m})
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]int{}
	for _, r := range res {
		if r.PAlive < 0 || r.PAlive > 1 || r.ExpectedPurchases < 0 || r.CLV < 0 || r.Segment == "" {
			t.Fatalf("bad result %+v", r)
		}
		stages[r.Lifecycle]++
	}
	t.Logf("lifecycle stages at calibration end: %v", stages)
}

// reportCPU adds CPU seconds per op (user+system), a figure that stays
// meaningful when other processes compete for the cores.
func reportCPU(b *testing.B, start syscall.Rusage) {
	var end syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &end); err != nil {
		return
	}
	cpu := func(r syscall.Rusage) float64 {
		return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e9
	}
	b.ReportMetric((cpu(end)-cpu(start))/float64(b.N), "cpu-s/op")
}

func rusage() syscall.Rusage {
	var r syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return r
}

func BenchmarkFitBGNBD(b *testing.B) {
	data := summaryRFT(loadSummary(b))
	start := rusage()
	for b.Loop() {
		if _, _, err := FitBGNBD(data); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkFitAndScoreCDNOW fits both models on the full 23,570-customer
// base and scores every customer.
func BenchmarkFitAndScoreCDNOW(b *testing.B) {
	log := cdnowMaster(b)
	stats := statsFromLog(log, cdnowCalibrationEnd)
	start := rusage()
	for b.Loop() {
		m, err := FitModels(log, cdnowCalibrationEnd, 0, "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Score(stats, cdnowCalibrationEnd, ScoreOptions{Models: &m}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// syntheticCustomers makes n customers over two years ending at now.
func syntheticCustomers(n int, now time.Time) []CustomerStats {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]CustomerStats, n)
	for i := range out {
		c := CustomerStats{ID: int64(i + 1)}
		if rng.IntN(10) > 0 { // 10% prospects
			c.Orders = 1 + int(rng.ExpFloat64()*2)
			first := now.Add(-time.Duration(1+rng.IntN(730)) * 24 * time.Hour)
			span := now.Sub(first)
			c.FirstPurchaseAt = first
			c.LastPurchaseAt = first
			if c.Orders > 1 {
				c.LastPurchaseAt = first.Add(time.Duration(rng.Float64() * float64(span)))
			}
			c.TotalSpent = float64(c.Orders) * (10 + rng.ExpFloat64()*40)
		}
		out[i] = c
	}
	return out
}

// BenchmarkScore1M scores one million customers (R/F/M, segment, lifecycle,
// P(alive), 90-day expected purchases, 12-month CLV) in the streaming form
// a refresh job uses: a first pass for the cut points, then O(1) per
// customer with nothing kept.
func BenchmarkScore1M(b *testing.B) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	customers := syntheticCustomers(1_000_000, now)
	models := Models{Kind: DefaultCountModel, BG: paperParams, PNBD: ParetoNBDParams{R: 0.55, Alpha: 10.58, S: 0.61, Beta: 11.67},
		GG: GGParams{P: 6.25, Q: 3.74, V: 15.44}}
	b.ReportAllocs()
	start := rusage()
	for b.Loop() {
		s, err := NewScorer(customers, now, ScoreOptions{Models: &models})
		if err != nil {
			b.Fatal(err)
		}
		sum := 0.0
		for i := range customers {
			sum += s.Score(customers[i]).CLV
		}
		if sum <= 0 {
			b.Fatal("no CLV")
		}
	}
	reportCPU(b, start)
}
