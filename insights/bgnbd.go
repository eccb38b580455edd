package insights

import (
	"fmt"
	"math"
)

// RFT is one customer's purchase history in the form the BG/NBD model reads:
// X repeat purchases (purchases after the first, one per day), TX the time of
// the last purchase since the first, and T the time from the first purchase to
// the end of observation. TX and T are in model time units (weeks in this
// package's defaults); 0 <= TX <= T, and TX is 0 when X is 0.
type RFT struct {
	X, TX, T float64
}

// BGNBDParams are the four BG/NBD parameters: purchase rates are
// Gamma(R, Alpha) across customers (Alpha in model time units) and the
// drop-out probability after each purchase is Beta(A, B).
type BGNBDParams struct {
	R, Alpha, A, B float64
}

// Valid reports whether every parameter is finite and positive.
func (p BGNBDParams) Valid() bool { return finitePositive(p.R, p.Alpha, p.A, p.B) }

// finitePositive reports whether every v is finite and above 0.
func finitePositive(vs ...float64) bool {
	for _, v := range vs {
		if !(v > 0) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// FitBGNBD fits the BG/NBD model (Fader, Hardie and Lee 2005) by maximum
// likelihood and returns the parameters and the maximised log-likelihood
// (in the units of the input). Rows with negative or non-finite values, or
// with TX > T, are rejected with an error rather than silently dropped.
// FitBGNBDReport says, in addition, how the optimisation went.
func FitBGNBD(data []RFT) (BGNBDParams, float64, error) {
	fit, err := FitBGNBDReport(data)
	return fit.Params, fit.LogLikelihood, err
}

// BGNBDFit is a BG/NBD fit with its diagnostics.
type BGNBDFit struct {
	Params        BGNBDParams
	LogLikelihood float64
	FitReport
}

// FitBGNBDReport is FitBGNBD with the optimisation's report: evaluations
// spent, whether it converged, and parameters left at the search box's edge
// (MaxLogParam). The search starts at every parameter 1 in time scaled so
// the longest history is 10 units (a purchase every few units, a drop-out
// chance of one half: the middle of what bases show) and is bounded
// (MaxFitEvaluations), so a degenerate base costs a bounded fit and a
// finite, flagged result.
func FitBGNBDReport(data []RFT) (BGNBDFit, error) {
	return fitBGFamily(data, false, "BG/NBD")
}

// fitBGFamily fits BG/NBD, or MBG/NBD when modified, named name in errors.
func fitBGFamily(data []RFT, modified bool, name string) (BGNBDFit, error) {
	// Fit in scaled time so all four log-parameters start near 0; alpha is
	// scaled back afterwards, the other parameters are unit-free.
	rows, scale, err := scaledRows(data, name)
	if err != nil {
		return BGNBDFit{}, err
	}
	ll := newBGNBDLikelihood(rows, modified)
	x, _, rep, err := minimizeLog(func(lp []float64) float64 {
		return -ll.eval(BGNBDParams{R: math.Exp(lp[0]), Alpha: math.Exp(lp[1]), A: math.Exp(lp[2]), B: math.Exp(lp[3])})
	}, []float64{0, 0, 0, 0}, []string{"r", "alpha", "a", "b"})
	if err != nil {
		return BGNBDFit{}, fmt.Errorf("insights: fit %s: %w", name, err)
	}
	p := BGNBDParams{R: math.Exp(x[0]), Alpha: math.Exp(x[1]) / scale, A: math.Exp(x[2]), B: math.Exp(x[3])}
	if !p.Valid() {
		return BGNBDFit{}, fmt.Errorf("insights: fit %s: diverged to %+v", name, p)
	}
	ll = newBGNBDLikelihood(compress(data), modified)
	return BGNBDFit{Params: p, LogLikelihood: ll.eval(p), FitReport: rep}, nil
}

// scaledRows checks data and returns its distinct rows in time scaled so
// the longest history T is 10 units, and the scale (units per input unit).
// name is the model, for errors.
func scaledRows(data []RFT, name string) ([]weighted, float64, error) {
	maxT := 0.0
	for i, d := range data {
		if !validRFT(d) {
			return nil, 0, fmt.Errorf("insights: fit %s: row %d: invalid (x=%g, t_x=%g, T=%g)", name, i, d.X, d.TX, d.T)
		}
		maxT = math.Max(maxT, d.T)
	}
	if len(data) == 0 || maxT == 0 {
		return nil, 0, fmt.Errorf("insights: fit %s: %w", name, ErrNoData)
	}
	scale := 10 / maxT
	rows := compress(data)
	for i := range rows {
		rows[i].TX *= scale
		rows[i].T *= scale
	}
	return rows, scale, nil
}

func validRFT(d RFT) bool {
	ok := d.X >= 0 && d.TX >= 0 && d.T >= 0 && d.TX <= d.T
	return ok && !math.IsInf(d.X+d.TX+d.T, 0) && !math.IsNaN(d.X+d.TX+d.T)
}

// BGNBDLogLikelihood returns the total log-likelihood of data under p.
func BGNBDLogLikelihood(p BGNBDParams, data []RFT) float64 {
	return newBGNBDLikelihood(compress(data), false).eval(p)
}

// bgnbdLikelihood caches the structure of the data: the gamma-function terms
// depend on x only, and log(alpha+T), log(alpha+t_x) on T and t_x only, and
// real bases have few distinct values of each (whole days), so each is
// computed once per distinct value per evaluation instead of per customer.
type bgnbdLikelihood struct {
	rows          []weighted
	xs, ts        []float64 // distinct x values; distinct T and t_x values
	xIdx, tIdx    []int32   // per row: index of X in xs, of T in ts
	txIdx         []int32   // per row: index of TX in ts
	xTerm, logBX1 []float64 // per distinct x: A1+A2 less r*ln(alpha); ln(b+x-1)
	logAT         []float64 // per distinct time: ln(alpha + time)
	// shift is 1 for MBG/NBD, whose terms are BG/NBD's with b+x in place
	// of b+x-1 and a drop-out term for x = 0 too; 0 for BG/NBD.
	shift float64
}

func newBGNBDLikelihood(rows []weighted, modified bool) *bgnbdLikelihood {
	l := &bgnbdLikelihood{rows: rows, shift: b2f(modified), xIdx: make([]int32, len(rows)), tIdx: make([]int32, len(rows)), txIdx: make([]int32, len(rows))}
	xSeen, tSeen := distinct[float64]{}, distinct[float64]{}
	for i, r := range rows {
		l.xIdx[i] = xSeen.index(&l.xs, r.X)
		l.tIdx[i] = tSeen.index(&l.ts, r.T)
		l.txIdx[i] = tSeen.index(&l.ts, r.TX)
	}
	l.xTerm, l.logBX1 = make([]float64, len(l.xs)), make([]float64, len(l.xs))
	l.logAT = make([]float64, len(l.ts))
	return l
}

// eval is the log-likelihood, eq. (6) of Fader, Hardie and Lee (2005), as
// A1 + A2 + log(exp(A3) + [x>0] exp(A4)); for MBG/NBD (shift 1, Batislam
// et al. 2007, eq. 6) b+x-1 becomes b+x and the second term holds for
// x = 0 too.
func (l *bgnbdLikelihood) eval(p BGNBDParams) float64 {
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	base := lgamma(a+b) - lgamma(b) - lgamma(r) + r*math.Log(alpha)
	for j, x := range l.xs {
		l.xTerm[j] = base + lgamma(r+x) + lgamma(b+x+l.shift) - lgamma(a+b+x+l.shift)
		l.logBX1[j] = math.Log(b + x - 1 + l.shift)
	}
	for j, t := range l.ts {
		l.logAT[j] = math.Log(alpha + t)
	}
	logA := math.Log(a)
	total := 0.0
	for i, row := range l.rows {
		x, xi := row.X, l.xIdx[i]
		v := -(r + x) * l.logAT[l.tIdx[i]]
		if x > 0 || l.shift > 0 {
			a4 := logA - l.logBX1[xi] - (r+x)*l.logAT[l.txIdx[i]]
			v = logSumExp(v, a4)
		}
		total += row.n * (l.xTerm[xi] + v)
	}
	return total
}

// PAlive is the probability that a customer with history (x, tx, T) is
// still active at T (Fader, Hardie and Lee, "Computing P(alive) using the
// BG/NBD model", 2008). It is 1 for x = 0: the model lets customers drop
// out only after a repeat purchase.
func PAlive(p BGNBDParams, x, tx, T float64) float64 {
	return pAlive(p, false, x, tx, T)
}

// pAlive is PAlive, or MBG/NBD's (b+x for b+x-1, every x) when modified.
func pAlive(p BGNBDParams, modified bool, x, tx, T float64) float64 {
	if x <= 0 && !modified {
		return 1
	}
	return aliveFromLogOdds(math.Log(p.A) - math.Log(p.B+x-1+b2f(modified)) + (p.R+x)*(math.Log(p.Alpha+T)-math.Log(p.Alpha+tx)))
}

// aliveFromLogOdds is 1/(1+e^z) for the log-odds z of having dropped out,
// written so neither branch overflows.
func aliveFromLogOdds(z float64) float64 {
	if z > 0 {
		e := math.Exp(-z)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(z))
}

// distinct numbers the distinct values of a column: index returns v's
// position in vals, appending it the first time it is seen.
type distinct[K comparable] map[K]int32

func (d distinct[K]) index(vals *[]K, v K) int32 {
	j, ok := d[v]
	if !ok {
		j = int32(len(*vals))
		d[v] = j
		*vals = append(*vals, v)
	}
	return j
}

// ExpectedPurchases is the expected number of purchases in the next t time
// units for a customer with history (x, tx, T): eq. (10) of Fader, Hardie and
// Lee (2005). With x = tx = T = 0 it is the unconditional expectation for a
// new customer over (0, t], eq. (9). It returns NaN when the hypergeometric
// series fails to converge (t very large against Alpha+T).
func ExpectedPurchases(p BGNBDParams, t, x, tx, T float64) float64 {
	var out [1]float64
	ExpectedPurchasesAt(p, []float64{t}, x, tx, T, out[:])
	return out[0]
}

// ExpectedPurchasesAt is ExpectedPurchases for several horizons ts at once
// (out[i] for ts[i]), sharing the series work; len(out) must be >= len(ts).
func ExpectedPurchasesAt(p BGNBDParams, ts []float64, x, tx, T float64, out []float64) {
	expectedPurchasesAt(p, false, ts, x, tx, T, out)
}

// expectedPurchasesAt is ExpectedPurchasesAt, or MBG/NBD's when modified
// (Batislam et al. 2007, eq. 9: BG/NBD's with b+1 for b, and the drop-out
// odds for every x).
func expectedPurchasesAt(p BGNBDParams, modified bool, ts []float64, x, tx, T float64, out []float64) {
	if modified {
		p.B++
	}
	a := p.A
	if math.Abs(a-1) < 1e-8 {
		a = 1 + 1e-8 // the closed form has a removable singularity at a = 1
	}
	var zBuf [64]float64
	zs := zBuf[:0]
	if len(ts) > len(zBuf) {
		zs = make([]float64, 0, len(ts))
	}
	for _, t := range ts {
		zs = append(zs, math.Max(t, 0)/(p.Alpha+T+math.Max(t, 0)))
	}
	// Euler's transformation turns (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) into
	// (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose parameters do not grow
	// with x, so the series stays well-conditioned for heavy buyers.
	ok := hyp2f1Multi(a+p.B-1-p.R, a-1, a+p.B+x-1, zs, out)
	scale := (a + p.B + x - 1) / (a - 1)
	if x > 0 || modified {
		odds := math.Exp(math.Log(a) - math.Log(p.B+x-1) + (p.R+x)*(math.Log(p.Alpha+T)-math.Log(p.Alpha+tx)))
		scale /= 1 + odds
	}
	for i, z := range zs {
		switch f := out[i]; {
		case !ok:
			out[i] = math.NaN()
		case z == 0:
			out[i] = 0
		case f > 0:
			out[i] = scale * -math.Expm1((a-1)*math.Log1p(-z)+math.Log(f))
		default:
			out[i] = scale * (1 - math.Pow(1-z, a-1)*f)
		}
	}
}

// ExpectedPurchasesNew is the unconditional expected number of repeat
// purchases in (0, t] for a customer who made a first purchase at time 0,
// eq. (9) of Fader, Hardie and Lee (2005).
func ExpectedPurchasesNew(p BGNBDParams, t float64) float64 {
	return ExpectedPurchases(p, t, 0, 0, 0)
}

// b2f is 1 for true, 0 for false.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
