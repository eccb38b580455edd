package insights

import (
	"math"
	"testing"
)

// TestFitGammaGammaCDNOW reproduces Fader and Hardie's Gamma-Gamma note on
// the 946 CDNOW sample customers with repeat purchases: p=6.25, q=3.74, v=15.44.
func TestFitGammaGammaCDNOW(t *testing.T) {
	rows := loadSummary(t)
	freq, mean := make([]float64, len(rows)), make([]float64, len(rows))
	repeaters := 0
	for i, r := range rows {
		freq[i], mean[i] = r.RFT.X, r.ZBar
		if r.RFT.X > 0 {
			repeaters++
		}
	}
	if repeaters != 946 {
		t.Fatalf("%d customers with repeat purchases, want 946", repeaters)
	}
	g, err := FitGammaGamma(freq, mean)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("params %+v", g)
	within(t, "p", g.P, 6.25, 0.01)
	within(t, "q", g.Q, 3.74, 0.01)
	within(t, "v", g.V, 15.44, 0.01)

	// Expected spend shrinks a customer's own mean towards the population
	// mean p*v/(q-1), less so the more purchases back it up.
	pop := g.P * g.V / (g.Q - 1)
	if got := ExpectedSpend(g, 0, 999); math.Abs(got-pop) > 1e-9 {
		t.Errorf("ExpectedSpend(x=0) = %g, want population mean %g", got, pop)
	}
	one, many := ExpectedSpend(g, 1, 100), ExpectedSpend(g, 20, 100)
	if !(pop < one && one < many && many < 100) {
		t.Errorf("shrinkage order wrong: pop %g, x=1 %g, x=20 %g, own mean 100", pop, one, many)
	}
}

func TestFitGammaGammaErrors(t *testing.T) {
	if _, err := FitGammaGamma([]float64{1, 2}, []float64{3}); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := FitGammaGamma([]float64{0, 0}, []float64{0, 0}); err == nil {
		t.Error("no repeat customers accepted")
	}
	if _, err := FitGammaGamma([]float64{2}, []float64{-5}); err == nil {
		t.Error("negative mean accepted")
	}
	if _, _, err := FitBGNBD([]RFT{{X: 1, TX: 5, T: 3}}); err == nil {
		t.Error("t_x > T accepted")
	}
	if _, _, err := FitBGNBD(nil); err == nil {
		t.Error("empty data accepted")
	}
}

// TestCLV checks the discounted CLV against its definition computed
// independently, and its basic economics.
func TestCLV(t *testing.T) {
	bg := paperParams
	gg := GGParams{P: 6.25, Q: 3.74, V: 15.44}
	x, tx, T, m := 2.0, 30.43, 38.86, 22.35
	// Undiscounted CLV over 52 weeks telescopes to E[Y(52)] * spend.
	want := ExpectedPurchases(bg, 52, x, tx, T) * ExpectedSpend(gg, x, m)
	if got := CLV(bg, gg, x, tx, T, m, 52, 0); math.Abs(got-want) > 1e-9*want {
		t.Errorf("undiscounted CLV = %g, want %g", got, want)
	}
	// 12 months of 4.345 weeks with 1%/month, summed by hand.
	hand, prev := 0.0, 0.0
	for i := 1; i <= 12; i++ {
		cum := ExpectedPurchases(bg, float64(i)*4.345, x, tx, T)
		hand += ExpectedSpend(gg, x, m) * (cum - prev) / math.Pow(1.01, float64(i))
		prev = cum
	}
	if got := CLVPeriods(bg, gg, x, tx, T, m, 12, 4.345, 0.01); math.Abs(got-hand) > 1e-9*hand {
		t.Errorf("monthly CLV = %g, want %g", got, hand)
	}
	if d := CLV(bg, gg, x, tx, T, m, 52, 0.01); !(d < want && d > 0) {
		t.Errorf("discounted CLV %g not in (0, %g)", d, want)
	}
	if lapsed := CLV(bg, gg, x, 1, T, m, 52, 0); !(lapsed < want) {
		t.Errorf("a lapsed customer's CLV %g is not below a recent one's %g", lapsed, want)
	}
}
