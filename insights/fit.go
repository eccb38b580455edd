package insights

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
)

// ErrNoData is returned by the fitting functions when the input holds no
// usable customer.
var ErrNoData = errors.New("insights: no usable customers to fit")

// FitReport says how an optimisation went, so a caller can log a fit that
// did not settle instead of scoring silently with it.
type FitReport struct {
	// Evaluations of the likelihood, at most MaxFitEvaluations.
	Evaluations int
	// Converged is true when a Nelder-Mead run met its tolerance and a
	// restart from its optimum no longer improved; false when the
	// evaluation budget ran out first.
	Converged bool
	// AtBound names the parameters that ended on the edge of the search box
	// (see MaxLogParam): the data say little about them (e.g. no
	// heterogeneity at all), and the edge keeps the model's series finite.
	AtBound []string
}

// MaxFitEvaluations bounds the likelihood evaluations of one fit (restarts
// included): a fit that has not settled by then keeps its best point and
// says so (FitReport.Converged false).
const MaxFitEvaluations = 12000

// MaxLogParam bounds every log-parameter a fit searches (in the fit's scaled
// units): parameters stay within [e^-MaxLogParam, e^MaxLogParam], about
// [0.0009, 1100]. Unbounded, data without heterogeneity in drop-out push the
// BG/NBD a and b towards infinity, where the likelihood is flat and the
// hypergeometric series behind expected purchases needs hundreds of
// thousands of terms per customer (and then fails): a refresh of 5,000
// customers took a minute and stored no forecast. At the edge the model is
// the same to any practical precision.
const MaxLogParam = 7.0

// minimizeLog minimises f over log-parameters inside the box |x_i| <=
// MaxLogParam (the models pass log-parameters, so every point is a valid
// parameter set). Nelder-Mead is restarted from its own optimum until a
// restart no longer improves, which guards against the simplex collapsing
// early on the flat ridges these likelihoods have; the total work is bounded
// by MaxFitEvaluations. names label the parameters in FitReport.AtBound.
func minimizeLog(f func(x []float64) float64, x0 []float64, names []string) ([]float64, float64, FitReport, error) {
	safe := func(x []float64) float64 {
		for _, v := range x {
			if math.Abs(v) > MaxLogParam {
				return math.MaxFloat64 / 4
			}
		}
		v := f(x)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return math.MaxFloat64 / 4
		}
		return v
	}
	x := make([]float64, len(x0))
	for i, v := range x0 {
		x[i] = math.Max(-MaxLogParam, math.Min(MaxLogParam, v))
	}
	best := safe(x)
	var rep FitReport
	for run := 0; run < 6 && rep.Evaluations < MaxFitEvaluations; run++ {
		nx, nf, evals, settled := nelderMead(safe, x, 0.5, 1e-10, min(5000, MaxFitEvaluations-rep.Evaluations))
		rep.Evaluations += evals
		improved := best - nf
		if nf <= best {
			x, best = nx, nf
		}
		if run > 0 && improved < 1e-9 {
			rep.Converged = settled
			break
		}
	}
	if best >= math.MaxFloat64/8 {
		return nil, 0, rep, errors.New("insights: optimise: likelihood is not finite anywhere near the start")
	}
	for i, v := range x {
		if math.Abs(v) > MaxLogParam-1e-3 && i < len(names) {
			rep.AtBound = append(rep.AtBound, names[i])
		}
	}
	return x, best, rep, nil
}

// nelderMead is the standard Nelder-Mead simplex method (reflection 1,
// expansion 2, contraction 1/2, shrink 1/2) started from x0 with steps of
// size step along each axis. It stops when the spread of function values
// over the simplex falls below ftol (absolute and relative) or after
// maxEval evaluations, and returns the best vertex, the evaluations spent
// and whether it stopped on the tolerance.
func nelderMead(f func([]float64) float64, x0 []float64, step, ftol float64, maxEval int) ([]float64, float64, int, bool) {
	n := len(x0)
	pts := make([][]float64, n+1)
	vals := make([]float64, n+1)
	for i := range pts {
		pts[i] = append([]float64(nil), x0...)
		if i > 0 {
			pts[i][i-1] += step
		}
		vals[i] = f(pts[i])
	}
	centroid, trial, trial2 := make([]float64, n), make([]float64, n), make([]float64, n)
	along := func(dst []float64, coef float64, worst []float64) {
		for j := range dst {
			dst[j] = centroid[j] + coef*(worst[j]-centroid[j])
		}
	}
	evals, settled := n+1, false
	for evals < maxEval {
		sortSimplex(pts, vals)
		if math.Abs(vals[n]-vals[0]) <= ftol*(1+math.Abs(vals[0])) {
			settled = true
			break
		}
		for j := range centroid {
			centroid[j] = 0
			for i := 0; i < n; i++ {
				centroid[j] += pts[i][j] / float64(n)
			}
		}
		along(trial, -1, pts[n])
		fr := f(trial)
		evals++
		switch {
		case fr < vals[0]:
			along(trial2, -2, pts[n])
			if fe := f(trial2); fe < fr {
				copy(pts[n], trial2)
				vals[n] = fe
			} else {
				copy(pts[n], trial)
				vals[n] = fr
			}
			evals++
		case fr < vals[n-1]:
			copy(pts[n], trial)
			vals[n] = fr
		default:
			coef := 0.5 // inside contraction
			if fr < vals[n] {
				coef = -0.5 // outside contraction
			}
			along(trial2, coef, pts[n])
			fc := f(trial2)
			evals++
			if fc < math.Min(fr, vals[n]) {
				copy(pts[n], trial2)
				vals[n] = fc
				continue
			}
			for i := 1; i <= n; i++ {
				for j := range pts[i] {
					pts[i][j] = pts[0][j] + 0.5*(pts[i][j]-pts[0][j])
				}
				vals[i] = f(pts[i])
			}
			evals += n
		}
	}
	sortSimplex(pts, vals)
	return pts[0], vals[0], evals, settled
}

// sortSimplex orders the vertices by function value (insertion sort: n <= 4).
func sortSimplex(pts [][]float64, vals []float64) {
	for i := 1; i < len(vals); i++ {
		for j := i; j > 0 && vals[j] < vals[j-1]; j-- {
			vals[j], vals[j-1] = vals[j-1], vals[j]
			pts[j], pts[j-1] = pts[j-1], pts[j]
		}
	}
}

// weighted is one distinct input row with the number of customers sharing it;
// fitting over distinct rows makes a 23,570-customer fit cost what its few
// thousand distinct (x, t_x, T) triples cost.
type weighted struct {
	RFT
	n float64
}

// compress groups identical rows, keeping first-seen order for determinism.
func compress(data []RFT) []weighted {
	index := make(map[RFT]int, len(data)/4+1)
	out := make([]weighted, 0, len(data)/4+1)
	for _, d := range data {
		if i, ok := index[d]; ok {
			out[i].n++
			continue
		}
		index[d] = len(out)
		out = append(out, weighted{RFT: d, n: 1})
	}
	return out
}

// logSumExp returns log(exp(a)+exp(b)) without overflow.
func logSumExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(a, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// lgamma is math.Lgamma without the sign (all arguments here are positive).
func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// FitSampleSize is the most customers a refresh fits the models on: a base
// with more buyers is fitted on a random sample of this many (SampleIndices,
// seeded, so the same base gives the same fit). At 50,000 customers the
// parameters' sampling error is a fraction of a percent, and a fit costs
// about a second whatever the base's size; every customer is still scored.
const FitSampleSize = 50_000

// SampleIndices returns k distinct indices of [0, n) drawn uniformly with
// a generator seeded by seed, in increasing order; all of them when k >= n.
func SampleIndices(n, k int, seed uint64) []int {
	if k >= n {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	// Floyd's algorithm: k draws, no n-sized buffer.
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	picked := make(map[int]struct{}, k)
	for j := n - k; j < n; j++ {
		v := r.IntN(j + 1)
		if _, ok := picked[v]; ok {
			v = j
		}
		picked[v] = struct{}{}
	}
	out := make([]int, 0, k)
	for v := range picked {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
