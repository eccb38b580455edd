package insights

import "math"

// hyp2f1MaxTerms bounds the series; at z = 0.999 the terms shrink by about
// 0.1% each, so convergence to 1e-14 needs roughly 35,000 terms.
const hyp2f1MaxTerms = 200000

// hyp2f1Multi evaluates the Gaussian hypergeometric function 2F1(a, b; c; z)
// at every z in zs (each in [0, 1)) by its power series, with one pass over the shared series coefficients, writing to out. It is
// what makes CLV cheap: its periods differ only in z. ok is false when some
// z did not converge within hyp2f1MaxTerms terms, a z is outside [0, 1),
// or c is a non-positive integer. Summation stops once the tail, bounded by
// a geometric series, is below 1e-14 relative to every sum.
func hyp2f1Multi(a, b, c float64, zs, out []float64) bool {
	var powBuf [64]float64
	if len(zs) > len(powBuf) {
		ok1 := hyp2f1Multi(a, b, c, zs[:len(powBuf)], out[:len(powBuf)])
		ok2 := hyp2f1Multi(a, b, c, zs[len(powBuf):], out[len(powBuf):])
		return ok1 && ok2
	}
	if c <= 0 && c == math.Trunc(c) {
		return false
	}
	jmax := 0
	pow := powBuf[:len(zs)]
	for j, z := range zs {
		if !(z >= 0 && z < 1) {
			return false
		}
		pow[j], out[j] = 1, 1
		if z > zs[jmax] {
			jmax = j
		}
	}
	zmax := zs[jmax]
	minK := math.Abs(a) + math.Abs(b) + math.Abs(c)
	coef := 1.0
	for k := 0.0; k < hyp2f1MaxTerms; k++ {
		ratio := (a + k) * (b + k) / ((c + k) * (k + 1))
		coef *= ratio
		if coef == 0 {
			return true
		}
		for j, z := range zs {
			pow[j] *= z
			out[j] += coef * pow[j]
		}
		// Every z's term and tail is bounded by the largest z's, so one
		// check on it (against the smallest sum) decides for all.
		if k <= minK {
			continue
		}
		r := math.Max(math.Abs(ratio)*zmax, zmax)
		if bound := math.Abs(coef*pow[jmax]) * r / (1 - r); bound <= 1e-14 {
			minSum := math.Inf(1)
			for _, v := range out[:len(zs)] {
				minSum = math.Min(minSum, math.Abs(v))
			}
			if bound <= 1e-14*minSum {
				return true
			}
		}
	}
	return false
}
