package worker

import (
	"bufio"
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/imports"
	"github.com/tidings-crm/tidings/store/storetest"
)

// cdnowFile finds shared/data/cdnow/<name> beside the repository; the test
// fails (never skips) when it is missing.
func cdnowFile(t testing.TB, name string) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "shared", "data", "cdnow", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("shared/data/cdnow/%s not found in any parent folder of the repository", name)
		}
		dir = parent
	}
}

// publishedSummary is one row of the BG/NBD paper's calibration summary.
type publishedSummary struct {
	rft  insights.RFT
	zbar float64
}

// loadPublishedSummary reads cdnow_customers_summary_with_transactions.csv
// keyed by the sample id (ID column).
func loadPublishedSummary(t testing.TB) map[string]publishedSummary {
	t.Helper()
	f, err := os.Open(cdnowFile(t, "cdnow_customers_summary_with_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "ID,x,t_x,T,zbar" {
		t.Fatalf("unexpected header %v", recs[0])
	}
	out := make(map[string]publishedSummary, len(recs)-1)
	for _, r := range recs[1:] {
		var v [4]float64
		for j := range v {
			if v[j], err = strconv.ParseFloat(r[j+1], 64); err != nil {
				t.Fatal(err)
			}
		}
		out[r[0]] = publishedSummary{rft: insights.RFT{X: v[0], TX: v[1], T: v[2]}, zbar: v[3]}
	}
	return out
}

// sampleIDs maps the CDNOW sample's master customer id (the external id the
// import stores, e.g. "00004") to its sample id as the summary writes it ("1").
func sampleIDs(t testing.TB, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 5 {
			t.Fatalf("unexpected sample line %q", sc.Text())
		}
		n, err := strconv.Atoi(fs[1])
		if err != nil {
			t.Fatal(err)
		}
		out[fs[0]] = strconv.Itoa(n)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func importFile(t testing.TB, st *store.Store, path string) imports.Summary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, err := imports.Purchases(context.Background(), st, f, imports.Options{})
	if err != nil || sum.RejectedCount > 0 {
		t.Fatalf("import %s: %v, %d rejected %v", path, err, sum.RejectedCount, sum.Rejected)
	}
	return sum
}

// externalIDs returns every customer's external id by store id.
func externalIDs(t testing.TB, st *store.Store) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	err := st.StreamCustomers(context.Background(), func(c *store.Customer) error {
		out[c.ID] = c.ExternalID
		return nil
	}, store.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var calibrationEnd = time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)

// TestCDNOWThroughTheProductMatchesThePublishedSummary imports the raw CDNOW
// sample log through the product's own import, then builds every customer's
// model inputs from the store's purchases exactly as the refresh does
// (calibration end 1997-09-30, weeks) and compares them with the published
// summary file for every one of the 2,357 customers: x, t_x and T to the
// file's two decimals, and the mean repeat spend (zbar). A refresh as of the
// calibration end must then fit the published Pareto/NBD parameters (the
// default model) within 1%, the same models insights.FitModels fits to
// the raw log (the same purchases counted the same way, in purchase days),
// and, with BG/NBD chosen, the published BG/NBD parameters.
func TestCDNOWThroughTheProductMatchesThePublishedSummary(t *testing.T) {
	path := cdnowFile(t, "CDNOW_sample.txt")
	want := loadPublishedSummary(t)
	toSample := sampleIDs(t, path)
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			if sum := importFile(t, st, path); sum.Inserted != 6919 {
				t.Fatalf("imported %d purchases, want 6919", sum.Inserted)
			}
			ext := externalIDs(t, st)
			seen, bad := 0, 0
			round := func(v float64) float64 { return math.Round(v*100) / 100 }
			var buf []insights.Purchase
			err := st.StreamCustomerHistories(ctx, store.HistoryOptions{Until: calibrationEnd, PageSize: 500},
				func(h *store.CustomerHistory) error {
					var sum insights.Summary
					_, sum, buf = customerInputs(h, calibrationEnd, 7*24*time.Hour, buf)
					id := toSample[ext[h.ID]]
					w, ok := want[id]
					if !ok {
						t.Errorf("customer %s (sample id %q) is not in the summary", ext[h.ID], id)
						return nil
					}
					seen++
					if sum.X != w.rft.X || round(sum.TX) != w.rft.TX || round(sum.T) != w.rft.T ||
						math.Abs(sum.MonetaryMean-w.zbar) > 0.0051 {
						if bad++; bad <= 5 {
							t.Errorf("sample customer %s: got x=%g t_x=%.4f T=%.4f zbar=%.4f, want %+v zbar=%g",
								id, sum.X, sum.TX, sum.T, sum.MonetaryMean, w.rft, w.zbar)
						}
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if seen != len(want) || bad > 0 {
				t.Fatalf("compared %d of %d customers, %d differ", seen, len(want), bad)
			}
			rep, err := RefreshInsights(ctx, st, calibrationEnd, InsightsOptions{Log: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			checkPublishedFit(t, rep)
			checkStoredScores(t, st, rep, ext, toSample, want)
			direct, err := insights.FitModels(samplePurchases(t, path), calibrationEnd, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if d, r := direct.PNBD, rep.Models.PNBD; direct.Kind != rep.Models.Kind || !within(d.R, r.R, 1e-9) ||
				!within(d.Alpha, r.Alpha, 1e-9) || !within(d.S, r.S, 1e-9) || !within(d.Beta, r.Beta, 1e-9) ||
				!within(direct.GG.P, rep.Models.GG.P, 1e-9) || !within(direct.GG.Q, rep.Models.GG.Q, 1e-9) ||
				!within(direct.GG.V, rep.Models.GG.V, 1e-9) {
				t.Errorf("FitModels on the raw log: %+v; the refresh on the store: %+v", direct, rep.Models)
			}
			bg, err := RefreshInsights(ctx, st, calibrationEnd, InsightsOptions{Model: insights.ModelBGNBD, Log: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			checkPublishedFit(t, bg)
		})
	}
}

func within(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

// samplePurchases reads the CDNOW sample log (master id, sample id, date,
// CDs, dollars) as insights purchases keyed by the master id.
func samplePurchases(t testing.TB, path string) []insights.Purchase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []insights.Purchase
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		fs := strings.Fields(line)
		at, err := time.Parse("20060102", fs[2])
		if err != nil {
			t.Fatal(err)
		}
		amount, err := strconv.ParseFloat(fs[4], 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, insights.Purchase{CustomerID: fs[0], At: at, Amount: amount})
	}
	return out
}

// checkPublishedFit compares the refresh's fit with the published figures
// of its model (Fader, Hardie and Lee 2005): Pareto/NBD r=0.55, alpha=10.58,
// s=0.61, beta=11.67 (LL -9595.0) or BG/NBD r=0.243, alpha=4.414, a=0.793,
// b=2.426 (LL -9582.43), and Gamma-Gamma p=6.25, q=3.74, v=15.44 on the 946
// repeat buyers.
func checkPublishedFit(t *testing.T, rep InsightsReport) {
	t.Helper()
	m, gg := rep.Models, rep.Models.GG
	if !rep.Fitted || rep.ModelID == 0 {
		t.Fatalf("refresh did not fit and record a model: %+v", rep)
	}
	switch p, bg := m.PNBD, m.BG; m.Kind {
	case insights.ModelParetoNBD:
		if !within(p.R, 0.55, 0.01) || !within(p.Alpha, 10.58, 0.01) || !within(p.S, 0.61, 0.01) ||
			!within(p.Beta, 11.67, 0.01) || !within(rep.LogLikelihood, -9595.0, 0.0001) {
			t.Errorf("%s (LL %.2f), want r=0.55 alpha=10.58 s=0.61 beta=11.67 within 1%%, LL -9595.0", m.CountParams(), rep.LogLikelihood)
		}
	case insights.ModelBGNBD:
		if !within(bg.R, 0.243, 0.01) || !within(bg.Alpha, 4.414, 0.01) || !within(bg.A, 0.793, 0.01) ||
			!within(bg.B, 2.426, 0.01) || !within(rep.LogLikelihood, -9582.43, 0.0001) {
			t.Errorf("%s (LL %.2f), want r=0.243 alpha=4.414 a=0.793 b=2.426 within 1%%, LL -9582.43", m.CountParams(), rep.LogLikelihood)
		}
	default:
		t.Fatalf("refresh fitted %s: no published fit to compare", m.Kind)
	}
	if rep.Buyers != 2357 || rep.RepeatBuyers != 946 {
		t.Errorf("fitted on %d buyers, %d repeat buyers; want 2357 and 946", rep.Buyers, rep.RepeatBuyers)
	}
	if !within(gg.P, 6.25, 0.01) || !within(gg.Q, 3.74, 0.01) || !within(gg.V, 15.44, 0.01) {
		t.Errorf("Gamma-Gamma %+v, want p=6.25 q=3.74 v=15.44 within 1%%", gg)
	}
	t.Logf("fit %s, score %s; %s LL %.2f; GG %+v", rep.FitTime.Round(time.Millisecond),
		rep.ScoreTime.Round(time.Millisecond), m.CountParams(), rep.LogLikelihood, gg)
}

// checkStoredScores reads every stored customer back and checks P(alive)
// and expected purchases against the model evaluated on the published
// summary row (t_x and T rounded there to 0.01 week, hence the tolerance).
func checkStoredScores(t *testing.T, st *store.Store, rep InsightsReport, ext map[int64]string,
	toSample map[string]string, want map[string]publishedSummary) {
	t.Helper()
	m := rep.Models
	horizon := 90.0 / 7
	n, bad := 0, 0
	err := st.StreamCustomers(context.Background(), func(c *store.Customer) error {
		n++
		w := want[toSample[ext[c.ID]]].rft
		pa, ep := m.PAlive(w.X, w.TX, w.T), m.ExpectedPurchases(horizon, w.X, w.TX, w.T)
		if math.Abs(c.PAlive-pa) > 2e-3 || math.Abs(c.ExpectedPurchases90d-ep) > 2e-3*math.Max(1, ep) ||
			!c.InsightsAt.Equal(calibrationEnd) || c.RFMR < 1 || c.RFMSegment == "" || c.CLV <= 0 {
			if bad++; bad <= 5 {
				t.Errorf("customer %s: stored p_alive %.4f expected %.4f clv %.2f rfm %d%d%d %q at %s; model says %.4f, %.4f",
					c.ExternalID, c.PAlive, c.ExpectedPurchases90d, c.CLV, c.RFMR, c.RFMF, c.RFMM, c.RFMSegment,
					c.InsightsAt, pa, ep)
			}
		}
		return nil
	}, store.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2357 || bad > 0 || rep.Customers != 2357 {
		t.Fatalf("%d stored customers (%d refreshed), %d differ from the model", n, rep.Customers, bad)
	}
}
