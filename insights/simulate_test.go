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
	var aliveSim, aliveModel, futSim, futModel, futSq float64
	for _, c := range sims {
		if c.alive {
			aliveSim++
		}
		aliveModel += PAlive(p, c.rft.X, c.rft.TX, c.rft.T)
		f := float64(c.future)
		futSim += f
		futSq += f * f
		futModel += ExpectedPurchases(p, 39, c.rft.X, c.rft.TX, c.rft.T)
	}
	aliveSim, aliveModel, futSim, futModel = aliveSim/n, aliveModel/n, futSim/n, futModel/n
	seAlive := math.Sqrt(aliveSim * (1 - aliveSim) / n)
	seFut := math.Sqrt((futSq/n - futSim*futSim) / n)
	t.Logf("alive: sim %.4f model %.4f (se %.4f); future: sim %.4f model %.4f (se %.4f)", aliveSim, aliveModel, seAlive, futSim, futModel, seFut)
	if math.Abs(aliveSim-aliveModel) > 4*seAlive {
		t.Errorf("mean P(alive) %.4f, simulated alive share %.4f", aliveModel, aliveSim)
	}
	if math.Abs(futSim-futModel) > 4*seFut {
		t.Errorf("mean E[Y(39)|history] %.4f, simulated %.4f", futModel, futSim)
	}

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
