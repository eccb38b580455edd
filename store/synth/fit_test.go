package synth_test

import (
	"testing"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store/synth"
)

// TestSyntheticHistoriesFitTheModels is the regression test of the demo's
// slow refresh: the generator's purchase histories used to have no
// heterogeneity in drop-out, so the BG/NBD fit ran a and b off towards
// infinity and every customer's forecast needed 200,000 series terms (and
// came out NaN, stored as 0). Drawn from a BG/NBD-like process, the demo's
// 5,000 customers fit within a small budget, inside the search box, and
// every forecast is finite.
func TestSyntheticHistoriesFitTheModels(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var log []insights.Purchase
	err := synth.Generate(5000, 42, now, func(c synth.Customer) error {
		for _, p := range c.Purchases {
			log = append(log, insights.Purchase{CustomerID: c.Customer.ExternalID, At: p.OccurredAt,
				Amount: float64(p.AmountCents) / 100})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sums := insights.Summaries(log, now, 7*24*time.Hour)
	rft := make([]insights.RFT, len(sums))
	var freq, mean []float64
	for i, s := range sums {
		rft[i] = s.RFT
		if s.X > 0 {
			freq, mean = append(freq, s.X), append(mean, s.MonetaryMean)
		}
	}
	bg, err := insights.FitBGNBDReport(rft)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("BG/NBD %+v in %d evaluations", bg.Params, bg.Evaluations)
	const budget = 3000 // a well-posed four-parameter fit settles in well under this
	if !bg.Converged || bg.Evaluations > budget || len(bg.AtBound) > 0 {
		t.Fatalf("BG/NBD fit: converged %v after %d evaluations (budget %d), at bound %v: %+v",
			bg.Converged, bg.Evaluations, budget, bg.AtBound, bg.Params)
	}
	if p := bg.Params; p.A > 20 || p.B > 100 || p.R > 20 {
		t.Errorf("BG/NBD parameters %+v are not those of a heterogeneous base", p)
	}
	gg, err := insights.FitGammaGammaReport(freq, mean)
	if err != nil || !gg.Converged || gg.Evaluations > budget || len(gg.AtBound) > 0 {
		t.Fatalf("Gamma-Gamma fit: %+v, %v", gg, err)
	}
	for _, s := range sums {
		if v := insights.ExpectedPurchases(bg.Params, 90.0/7, s.X, s.TX, s.T); !(v >= 0 && v < 100) {
			t.Fatalf("customer %s (%+v): expected purchases %g, want finite", s.CustomerID, s.RFT, v)
		}
	}
}
