package insights

import (
	"math/rand/v2"
	"testing"
)

// simulateCampaign draws n customers, keeps each in the holdout with
// probability holdout, and lets treated customers buy with probability
// pTreated and held-out ones with pHoldout. It returns the lift as the
// report computes it.
func simulateCampaign(seed uint64, n int, holdout, pTreated, pHoldout float64) Lift {
	rng := rand.New(rand.NewPCG(seed, 0x7d1d1a65))
	var x1, n1, x0, n0 int64
	for range n {
		if rng.Float64() < holdout {
			n0++
			if rng.Float64() < pHoldout {
				x0++
			}
			continue
		}
		n1++
		if rng.Float64() < pTreated {
			x1++
		}
	}
	l, _ := CompareProportions(x1, n1, x0, n0)
	return l
}

// simHoldout is the control share of the simulations: 20%, a common choice.
// At 20,000 customers it gives about 4,000 held out, so a 4-point effect is
// some 8 standard errors from 0 and the interval excludes 0 on every seed;
// with 10% (2,000) it would still be 6 standard errors away.
const simHoldout = 0.20

// TestSimulatedKnownEffect is the acceptance: treated customers buy
// with probability 12%, held-out ones 8%, over 20,000 customers; the 95%
// interval contains the true 4 points and excludes 0.
func TestSimulatedKnownEffect(t *testing.T) {
	l := simulateCampaign(1, 20000, simHoldout, .12, .08)
	t.Logf("seed 1: diff %.4f, 95%% CI [%.4f, %.4f], p=%.2g: %s", l.Diff, l.Low, l.High, l.PValue, Verdict(&l))
	if !(l.Low <= .04 && .04 <= l.High) || !l.Significant || l.Low <= 0 {
		t.Fatalf("interval [%.4f, %.4f] should contain 0.04 and exclude 0", l.Low, l.High)
	}

	// Over 100 seeds: 0 is excluded every time, and the interval covers the
	// true effect about 95 times in 100 (at least 90).
	covered := 0
	for seed := uint64(1); seed <= 100; seed++ {
		l := simulateCampaign(seed, 20000, simHoldout, .12, .08)
		if l.Low <= 0 {
			t.Errorf("seed %d: interval [%.4f, %.4f] does not exclude 0", seed, l.Low, l.High)
		}
		if l.Low <= .04 && .04 <= l.High {
			covered++
		}
	}
	t.Logf("the interval covered 0.04 in %d of 100 seeded runs", covered)
	if covered < 90 {
		t.Errorf("the interval covered the true effect in %d of 100 runs, want at least 90", covered)
	}
}

// TestSimulatedNoEffect: with no true effect (both groups buy with 8%) the
// interval contains 0 in at least 90 of 100 seeded runs, and the verdict says
// so.
func TestSimulatedNoEffect(t *testing.T) {
	contains := 0
	for seed := uint64(1); seed <= 100; seed++ {
		l := simulateCampaign(seed, 20000, simHoldout, .08, .08)
		if l.Low <= 0 && 0 <= l.High {
			contains++
			if l.Significant {
				t.Errorf("seed %d: interval [%.4f, %.4f] contains 0 but is called significant", seed, l.Low, l.High)
			}
		}
	}
	t.Logf("the interval contained 0 in %d of 100 seeded runs", contains)
	if contains < 90 {
		t.Fatalf("with no effect the interval contained 0 in %d of 100 runs, want at least 90", contains)
	}
}
