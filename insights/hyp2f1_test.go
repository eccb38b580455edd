package insights

import (
	"math"
	"testing"
)

// TestHyp2F1ClosedForms checks the series against elementary closed forms,
// including z close to 1 where the series converges slowly.
func TestHyp2F1ClosedForms(t *testing.T) {
	zs := []float64{0, 0.1, 0.5, 0.9, 0.99, 0.999}
	out := make([]float64, len(zs))
	if !hyp2f1Multi(1, 1, 2, zs, out) {
		t.Fatal("2F1(1,1;2;z) did not converge")
	}
	for i, z := range zs {
		want := 1.0
		if z > 0 {
			want = -math.Log1p(-z) / z
		}
		if math.Abs(out[i]-want) > 1e-11*want {
			t.Errorf("2F1(1,1;2;%g) = %.15g, want %.15g", z, out[i], want)
		}
	}
	if !hyp2f1Multi(0.7, 2.5, 2.5, zs, out) {
		t.Fatal("2F1(a,b;b;z) did not converge")
	}
	for i, z := range zs {
		if want := math.Pow(1-z, -0.7); math.Abs(out[i]-want) > 1e-11*want {
			t.Errorf("2F1(0.7,2.5;2.5;%g) = %.15g, want %.15g", z, out[i], want)
		}
	}
	if hyp2f1Multi(1, 1, 2, []float64{1}, out) || hyp2f1Multi(1, 1, -2, []float64{0.5}, out) {
		t.Error("invalid input accepted")
	}
}
