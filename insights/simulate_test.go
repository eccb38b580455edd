package insights

import (
	"math"
	"math/rand/v2"
	"testing"
)

// simCustomer is one customer simulated from the BG/NBD story.
type simCustomer struct {
	rft    RFT
	alive  bool // still active at T
	future int  // repeat purchases in (T, T+horizon]
}

// simulateBGNBD draws customers from the BG/NBD generative process: rate
// lambda ~ Gamma(r, alpha), drop-out p ~ Beta(a, b); purchases arrive as a
// Poisson process and after each repeat purchase the customer leaves with
// probability p. Each is observed over (0, T] with T uniform in [minT, maxT].
func simulateBGNBD(rng *rand.Rand, p BGNBDParams, n int, minT, maxT, horizon float64) []simCustomer {
	out := make([]simCustomer, n)
	for i := range out {
		lambda := DrawGamma(rng, p.R) / p.Alpha
		g1, g2 := DrawGamma(rng, p.A), DrawGamma(rng, p.B)
		drop := g1 / (g1 + g2)
		T := minT + rng.Float64()*(maxT-minT)
		c := simCustomer{rft: RFT{T: T}, alive: true}
		for now := 0.0; ; {
			now += rng.ExpFloat64() / lambda
			if now > T+horizon {
				break
			}
			if now <= T {
				c.rft.X++
				c.rft.TX = now
			} else {
				c.future++
			}
			if rng.Float64() < drop {
				c.alive = now > T // a drop-out inside (0, T] means not alive at T
				break
			}
		}
		out[i] = c
	}
	return out
}

// TestBGNBDAgainstSimulation checks the closed forms against the model's
// own generative story. By the law of total probability the average of
// P(alive | history) over customers equals the share actually alive at T,
// and the average conditional expectation equals the average number of
// purchases actually made in the next 39 weeks; eq. (9) equals the mean
// count over (0, t] for customers observed from their first purchase.
func TestBGNBDAgainstSimulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	p := paperParams
	const n = 200000
	sims := simulateBGNBD(rng, p, n, 27, 39, 39)
	checkClosedForms(t, sims, func(h RFT) float64 { return PAlive(p, h.X, h.TX, h.T) },
		func(h RFT) float64 { return ExpectedPurchases(p, 39, h.X, h.TX, h.T) })

	// Unconditional: observe from 0 to t=52 with no calibration split.
	uncond := simulateBGNBD(rng, p, n, 52, 52, 0)
	var mean, sq float64
	for _, c := range uncond {
		mean += c.rft.X
		sq += c.rft.X * c.rft.X
	}
	mean /= n
	se := math.Sqrt((sq/n - mean*mean) / n)
	if got := ExpectedPurchasesNew(p, 52); math.Abs(got-mean) > 4*se {
		t.Errorf("E[X(52)] = %.4f, simulated %.4f (se %.4f)", got, mean, se)
	}
}

// checkClosedForms holds a model's closed forms to the simulation they
// describe, by the law of total probability: the mean P(alive | history)
// over the customers is the share actually alive at T, and the mean
// expected purchases over the next 39 weeks (expected39) the mean number
// actually made; both within 4 standard errors.
func checkClosedForms(t *testing.T, sims []simCustomer, pAlive, expected39 func(RFT) float64) {
	t.Helper()
	n := float64(len(sims))
	var aliveSim, aliveModel, futSim, futModel, futSq float64
	for _, c := range sims {
		if c.alive {
			aliveSim++
		}
		aliveModel += pAlive(c.rft)
		f := float64(c.future)
		futSim += f
		futSq += f * f
		futModel += expected39(c.rft)
	}
	aliveSim, aliveModel, futSim, futModel = aliveSim/n, aliveModel/n, futSim/n, futModel/n
	seAlive := math.Sqrt(aliveSim * (1 - aliveSim) / n)
	seFut := math.Sqrt((futSq/n - futSim*futSim) / n)
	t.Logf("alive: sim %.4f model %.4f (se %.4f); next 39 weeks: sim %.4f model %.4f (se %.4f)",
		aliveSim, aliveModel, seAlive, futSim, futModel, seFut)
	if math.Abs(aliveSim-aliveModel) > 4*seAlive {
		t.Errorf("mean P(alive) %.4f, simulated alive share %.4f", aliveModel, aliveSim)
	}
	if math.Abs(futSim-futModel) > 4*seFut {
		t.Errorf("mean E[Y(39)|history] %.4f, simulated %.4f", futModel, futSim)
	}
}

// inWholeDays rounds each simulated history (in weeks) down to whole days,
// as the refresh counts them (and cheap to fit: few distinct rows), and
// returns the model inputs.
func inWholeDays(sims []simCustomer) []RFT {
	data := make([]RFT, len(sims))
	for i := range sims {
		h := &sims[i].rft
		h.TX, h.T = math.Floor(h.TX*7)/7, math.Floor(h.T*7)/7
		data[i] = *h
	}
	return data
}

// paramCheck is a fitted parameter against the truth it was simulated
// from, with a relative tolerance.
type paramCheck struct {
	name      string
	got, want float64
	tol       float64
}

func checkParams(t *testing.T, checks []paramCheck) {
	t.Helper()
	for _, c := range checks {
		if math.Abs(c.got-c.want) > c.tol*c.want {
			t.Errorf("%s = %.4f, want %.4f within %g%%", c.name, c.got, c.want, 100*c.tol)
		}
	}
}
