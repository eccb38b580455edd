package insights

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCompareMeansCoversTheTrueDifference draws many experiments with a
// known difference of means (Poisson orders of known rates) and checks the
// 95% interval covers it about 95% of the time, and finds it significant
// when the groups are large.
func TestCompareMeansCoversTheTrueDifference(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 11))
	const lambda0, lambda1, trials = 0.30, 0.36, 400
	covered, significant := 0, 0
	for range trials {
		var treated, control Sums
		for range 4000 {
			treated.Add(float64(poisson(r, lambda1)))
		}
		for range 1000 {
			control.Add(float64(poisson(r, lambda0)))
		}
		d, ok := CompareMeans(treated, control)
		if !ok {
			t.Fatal("CompareMeans refused two full groups")
		}
		if d.Low <= lambda1-lambda0 && lambda1-lambda0 <= d.High {
			covered++
		}
		if d.Significant {
			significant++
		}
	}
	if rate := float64(covered) / trials; math.Abs(rate-0.95) > 0.03 {
		t.Errorf("the interval covers the true difference in %.1f%% of experiments, want about 95%%", 100*rate)
	}
	if significant < trials/2 {
		t.Errorf("only %d of %d experiments found the difference", significant, trials)
	}
	if _, ok := CompareMeans(Sums{}, control1()); ok {
		t.Error("an empty group was compared")
	}
}

func control1() Sums { var s Sums; s.Add(1); return s }

// poisson draws from a Poisson distribution of mean lambda (Knuth).
func poisson(r *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
