package insights

import (
	"math"
	"math/rand/v2"
)

// DrawGamma draws from Gamma(shape, rate 1) with r (Marsaglia and Tsang's
// method). With DrawBeta it simulates the BG/NBD story, purchase rates from
// a Gamma and drop-out probabilities from a Beta: the package's tests check
// the fit against such simulations, and store/synth draws the demo's
// purchase histories the same way.
func DrawGamma(r *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return DrawGamma(r, shape+1) * math.Pow(r.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		if u := r.Float64(); math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// DrawBeta draws from Beta(a, b) with r.
func DrawBeta(r *rand.Rand, a, b float64) float64 {
	x := DrawGamma(r, a)
	return x / (x + DrawGamma(r, b))
}
