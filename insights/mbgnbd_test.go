package insights

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// simulateMBGNBD draws customers from the MBG/NBD story (Batislam, Denizel
// and Filiztekin 2007): rate lambda ~ Gamma(r, alpha), drop-out p ~
// Beta(a, b); at the first purchase (time 0) and after each repeat purchase
// the customer leaves with probability p. Each is observed over (0, T]
// with T uniform in [minT, maxT], then for horizon more.
func simulateMBGNBD(rng *rand.Rand, p BGNBDParams, n int, minT, maxT, horizon float64) []simCustomer {
	out := make([]simCustomer, n)
	for i := range out {
		lambda := DrawGamma(rng, p.R) / p.Alpha
		drop := DrawBeta(rng, p.A, p.B)
		T := minT + rng.Float64()*(maxT-minT)
		c := simCustomer{rft: RFT{T: T}, alive: true}
		if rng.Float64() < drop {
			c.alive = false // gone right after the first purchase
			out[i] = c
			continue
		}
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
				c.alive = now > T
				break
			}
		}
		out[i] = c
	}
	return out
}

// TestMBGNBDRecoversSimulatedParameters draws 100,000 customers (fixed
// seed) from known MBG/NBD parameters, CDNOW-like in weeks, and fits them
// back: r and alpha within 5%, a within 10%, b within 15% (a and b are the
// least pinned down: the data mostly fix their ratio, the mean drop-out
// probability, within 8%). Fitted: r 0.247, alpha 3.96, a 0.822, b 2.76. The closed forms then agree with the simulation by the law of
// total probability: mean P(alive) is the share actually alive at T, the
// mean conditional expectation the mean number of purchases actually made
// in the next 39 weeks. BG/NBD, fitted to the same base, cannot say that
// one-time buyers left: its P(alive) for them is 1.
func TestMBGNBDRecoversSimulatedParameters(t *testing.T) {
	t.Parallel()
	truth := BGNBDParams{R: 0.25, Alpha: 4, A: 0.8, B: 2.5}
	rng := rand.New(rand.NewPCG(2007, 18))
	const n = 100000
	sims := simulateMBGNBD(rng, truth, n, 13, 104, 39)
	data := inWholeDays(sims)
	fit, err := FitCountModel(ModelMBGNBD, data)
	if err != nil {
		t.Fatal(err)
	}
	got := fit.BG
	t.Logf("truth %+v, fitted %+v (LL %.1f, %d evaluations)", truth, got, fit.LogLikelihood, fit.Evaluations)
	checkParams(t, []paramCheck{{"r", got.R, truth.R, 0.05}, {"alpha", got.Alpha, truth.Alpha, 0.05}, {"a", got.A, truth.A, 0.10},
		{"b", got.B, truth.B, 0.15}, {"mean drop-out a/(a+b)", got.A / (got.A + got.B), truth.A / (truth.A + truth.B), 0.08}})
	if truthLL := CountLogLikelihood(ModelMBGNBD, truth, data); fit.LogLikelihood < truthLL {
		t.Errorf("fit's log-likelihood %.2f is below the truth's %.2f: the search stopped short", fit.LogLikelihood, truthLL)
	}
	checkClosedForms(t, sims, func(h RFT) float64 { return PAliveOf(ModelMBGNBD, truth, h.X, h.TX, h.T) },
		func(h RFT) float64 { return ExpectedPurchasesOf(ModelMBGNBD, truth, 39, h.X, h.TX, h.T) })
	var oneTimeAlive, oneTime float64
	for _, c := range sims {
		if c.rft.X == 0 {
			oneTime++
			oneTimeAlive += PAliveOf(ModelMBGNBD, truth, c.rft.X, c.rft.TX, c.rft.T)
		}
	}
	t.Logf("one-time buyers' mean P(alive) %.3f", oneTimeAlive/oneTime)
	if oneTimeAlive/oneTime > 0.9 {
		t.Errorf("one-time buyers' mean P(alive) %.3f: MBG/NBD should let them lapse", oneTimeAlive/oneTime)
	}
	// Unconditional: E[X(t)] for a new customer (x = t_x = T = 0) is
	// b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))].
	uncond := simulateMBGNBD(rng, truth, n, 0, 0, 52)
	mean := 0.0
	for _, c := range uncond {
		mean += float64(c.future)
	}
	mean /= n
	if got := ExpectedPurchasesOf(ModelMBGNBD, truth, 52, 0, 0, 0); math.Abs(got-mean) > 0.03*mean+0.01 {
		t.Errorf("E[X(52)] = %.4f, simulated %.4f", got, mean)
	}
}

// TestMBGNBDReducesToItsFormulas checks the shared code against MBG/NBD's
// own expressions written out (Batislam et al. 2007, eqs. 8-9).
func TestMBGNBDReducesToItsFormulas(t *testing.T) {
	t.Parallel()
	p := BGNBDParams{R: 0.5, Alpha: 6, A: 0.9, B: 2.2}
	for _, h := range []RFT{{0, 0, 30}, {1, 10, 30}, {4, 25, 30}, {12, 50, 52}} {
		x, tx, T := h.X, h.TX, h.T
		odds := p.A / (p.B + x) * math.Pow((p.Alpha+T)/(p.Alpha+tx), p.R+x)
		if got, want := PAliveOf(ModelMBGNBD, p, x, tx, T), 1/(1+odds); math.Abs(got-want) > 1e-12 {
			t.Errorf("%+v: P(alive) %.12f, want %.12f", h, got, want)
		}
		const horizon = 20.0
		z := horizon / (p.Alpha + T + horizon)
		// 2F1(r+x, b+x+1; a+b+x; z) summed plainly.
		f, term := 1.0, 1.0
		for k := 0.0; k < 5000; k++ {
			term *= (p.R + x + k) * (p.B + x + 1 + k) / ((p.A + p.B + x + k) * (k + 1)) * z
			f += term
		}
		want := (p.A + p.B + x) / (p.A - 1) * (1 - math.Pow((p.Alpha+T)/(p.Alpha+T+horizon), p.R+x)*f) / (1 + odds)
		if got := ExpectedPurchasesOf(ModelMBGNBD, p, horizon, x, tx, T); math.Abs(got-want) > 1e-9*math.Max(1, want) {
			t.Errorf("%+v: E[Y(%g)] %.12f, want %.12f", h, horizon, got, want)
		}
	}
	if m, err := ParseCountModel(""); err != nil || m != ModelParetoNBD {
		t.Errorf("default model %q, %v", m, err)
	}
	if _, err := ParseCountModel("pareto"); err == nil || !strings.Contains(err.Error(), "pareto_nbd, bg_nbd, mbg_nbd") {
		t.Errorf("an unknown model name: %v", err)
	}
}
