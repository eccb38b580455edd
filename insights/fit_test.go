package insights

import (
	"math"
	"testing"
)

// TestFitBGNBDDegenerateBaseIsBoundedAndFlagged fits a base without any
// heterogeneity (everyone buys every 30 days for a year, then stops): the
// likelihood is flat as a and b grow, and unbounded they used to reach
// hundreds of thousands, where a forecast needs 200,000 series terms and
// fails. The fit stays inside the search box, says which parameters sit on
// its edge, and every forecast is finite.
func TestFitBGNBDDegenerateBaseIsBoundedAndFlagged(t *testing.T) {
	t.Parallel()
	var data []RFT
	for i := 0; i < 3000; i++ {
		start := float64(i%100) / 2 // first purchase, in weeks
		T := 104 - start
		x := math.Min(12, math.Floor(T/4.3))
		data = append(data, RFT{X: x, TX: x * 4.3, T: T})
	}
	fit, err := FitBGNBDReport(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", fit)
	if fit.Evaluations > MaxFitEvaluations {
		t.Errorf("%d evaluations, more than the budget %d", fit.Evaluations, MaxFitEvaluations)
	}
	limit := math.Exp(MaxLogParam) * 1.0001
	if p := fit.Params; p.A > limit || p.B > limit || p.R > limit {
		t.Errorf("parameters %+v left the search box (%g)", p, limit)
	}
	if len(fit.AtBound) == 0 {
		t.Errorf("a fit on a degenerate base should name the parameters at the box's edge: %+v", fit)
	}
	for _, d := range data[:200] {
		if v := ExpectedPurchases(fit.Params, 13, d.X, d.TX, d.T); math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			t.Fatalf("E[Y(13) | %+v] = %g, want finite", d, v)
		}
	}
}
