package insights

import (
	"math"
	"testing"
)

func within(t *testing.T, name string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want) {
		t.Errorf("%s = %.6g, want %.6g within %.2g%%", name, got, want, rel*100)
	}
}

// TestFitBGNBDCDNOW reproduces Fader, Hardie and Lee (2005), table/figure on
// the 2,357-customer CDNOW sample: r=0.243, alpha=4.414, a=0.793, b=2.426.
func TestFitBGNBDCDNOW(t *testing.T) {
	p, ll, err := FitBGNBD(summaryRFT(loadSummary(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("params %+v LL %.4f", p, ll)
	within(t, "r", p.R, 0.243, 0.01)
	within(t, "alpha", p.Alpha, 4.414, 0.01)
	within(t, "a", p.A, 0.793, 0.01)
	within(t, "b", p.B, 2.426, 0.01)
	within(t, "LL", ll, -9582.4, 0.0001)
}

// paperParams are the published CDNOW BG/NBD estimates.
var paperParams = BGNBDParams{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}

// TestExpectedPurchasesHardie checks eq. (9) and eq. (10) against the values
// from Hardie's BG/NBD spreadsheet that lifetimes' own tests use: the
// unconditional expectation at six times, and a customer with x=2,
// t_x=30.43, T=38.86 expected to buy 1.226 times in the next 39 weeks.
func TestExpectedPurchasesHardie(t *testing.T) {
	p, _, err := FitBGNBD(summaryRFT(loadSummary(t)))
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00}
	want := []float64{0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576}
	for i, tt := range times {
		if got := ExpectedPurchasesNew(p, tt); math.Abs(got-want[i]) > 0.0006 {
			t.Errorf("E[X(%g)] = %.5f, want %.4f", tt, got, want[i])
		}
	}
	if got := ExpectedPurchases(p, 39, 2, 30.43, 38.86); math.Abs(got-1.226) > 0.001 {
		t.Errorf("E[Y(39)|2, 30.43, 38.86] = %.5f, want 1.226", got)
	}
}

func TestPAliveProperties(t *testing.T) {
	p := paperParams
	if got := PAlive(p, 0, 0, 38.86); got != 1 {
		t.Errorf("P(alive | x=0) = %g, want 1", got)
	}
	// Bought at the very end of observation: the odds term is a/(b+x-1).
	if got, want := PAlive(p, 3, 30, 30), 1/(1+p.A/(p.B+2)); math.Abs(got-want) > 1e-12 {
		t.Errorf("P(alive | t_x=T) = %g, want %g", got, want)
	}
	prev := 1.0
	for tx := 38.0; tx >= 0; tx -= 2 { // less recent -> less likely alive
		got := PAlive(p, 4, tx, 38.86)
		if got >= prev || got <= 0 {
			t.Fatalf("P(alive) not strictly decreasing in recency: t_x=%g gives %g after %g", tx, got, prev)
		}
		prev = got
	}
	// Extreme inputs stay finite and in [0, 1].
	for _, c := range []RFT{{X: 500, TX: 0.1, T: 1000}, {X: 1, TX: 0, T: 1e6}, {X: 1e4, TX: 50, T: 50}} {
		if got := PAlive(p, c.X, c.TX, c.T); !(got >= 0 && got <= 1) {
			t.Errorf("P(alive | %+v) = %g, want in [0,1]", c, got)
		}
		if got := ExpectedPurchases(p, 52, c.X, c.TX, c.T); !(got >= 0) || math.IsInf(got, 0) {
			t.Errorf("E[Y(52) | %+v] = %g, want finite >= 0", c, got)
		}
	}
}
