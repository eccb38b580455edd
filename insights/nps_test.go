package insights

import (
	"math"
	"testing"
)

// TestNetPromoterScore checks the score and its adjusted Wald interval
// against figures worked by hand.
func TestNetPromoterScore(t *testing.T) {
	cases := []struct {
		p, q, d         int64
		score, low, hig float64
	}{
		// 50 promoters, 30 passives, 20 detractors: NPS 30. Adjusted:
		// n 103, p+ 51/103 = .495146, p- 21/103 = .203883, mean .291262,
		// variance .699029 - .084834 = .614195, se sqrt(.614195/103)
		// = .077221; 100*(.291262 -+ 1.959964*.077221) = [13.99, 44.26].
		{50, 30, 20, 30, 13.9912, 44.2612},
		// Five promoters of five: NPS 100, and the interval is not a point:
		// p+ 6/8 = .75, p- 1/8 = .125, mean .625, variance .875 - .390625
		// = .484375, se sqrt(.484375/8) = .246063; high 100*(.625 +
		// .482276) clipped to 100, low 100*(.625 - .482276) = 14.27.
		{5, 0, 0, 100, 14.2724, 100},
	}
	for _, c := range cases {
		got, ok := NetPromoterScore(c.p, c.q, c.d)
		if !ok || math.Abs(got.Score-c.score) > 1e-9 || math.Abs(got.Low-c.low) > 0.01 || math.Abs(got.High-c.hig) > 0.01 {
			t.Errorf("NetPromoterScore(%d, %d, %d) = %+v, %v; want score %v in [%v, %v]", c.p, c.q, c.d, got, ok,
				c.score, c.low, c.hig)
		}
	}
	if _, ok := NetPromoterScore(0, 0, 0); ok {
		t.Error("no answers: want false")
	}
}
