package insights

import (
	"fmt"
	"math"
)

// ParetoNBDParams are the four Pareto/NBD parameters (Schmittlein, Morrison
// and Colombo 1987): while alive a customer buys at a Poisson rate lambda,
// Gamma(R, Alpha) across customers, and lives an exponential lifetime of
// rate mu, Gamma(S, Beta) across customers. Alpha and Beta are in model
// time units (weeks in this package's defaults), R and S unit-free.
type ParetoNBDParams struct {
	R, Alpha, S, Beta float64
}

// Valid reports whether every parameter is finite and positive.
func (p ParetoNBDParams) Valid() bool { return finitePositive(p.R, p.Alpha, p.S, p.Beta) }

// ParetoNBDFit is a Pareto/NBD fit with its diagnostics.
type ParetoNBDFit struct {
	Params        ParetoNBDParams
	LogLikelihood float64
	FitReport
}

// FitParetoNBD fits the Pareto/NBD model by maximum likelihood with the
// search FitBGNBDReport uses (restarted Nelder-Mead over log-parameters in
// time scaled so the longest history is 10 units, bounded box and budget).
// On the 2,357-customer CDNOW sample it gives the published r=0.55,
// alpha=10.58, s=0.61, beta=11.67 (Fader, Hardie and Lee 2005).
func FitParetoNBD(data []RFT) (ParetoNBDFit, error) {
	rows, scale, err := scaledRows(data, "Pareto/NBD")
	if err != nil {
		return ParetoNBDFit{}, err
	}
	ll := newParetoLikelihood(rows)
	x, _, rep, err := minimizeLog(func(lp []float64) float64 {
		return -ll.eval(ParetoNBDParams{R: math.Exp(lp[0]), Alpha: math.Exp(lp[1]), S: math.Exp(lp[2]), Beta: math.Exp(lp[3])})
	}, []float64{0, 0, 0, 0}, []string{"r", "alpha", "s", "beta"})
	if err != nil {
		return ParetoNBDFit{}, fmt.Errorf("insights: fit Pareto/NBD: %w", err)
	}
	p := ParetoNBDParams{R: math.Exp(x[0]), Alpha: math.Exp(x[1]) / scale, S: math.Exp(x[2]), Beta: math.Exp(x[3]) / scale}
	if !p.Valid() {
		return ParetoNBDFit{}, fmt.Errorf("insights: fit Pareto/NBD: diverged to %+v", p)
	}
	return ParetoNBDFit{Params: p, LogLikelihood: ParetoNBDLogLikelihood(p, data), FitReport: rep}, nil
}

// ParetoNBDLogLikelihood returns the total log-likelihood of data under p.
func ParetoNBDLogLikelihood(p ParetoNBDParams, data []RFT) float64 {
	return newParetoLikelihood(compress(data)).eval(p)
}

// paretoLikelihood caches the data's structure: the terms depend on x, on
// the times T and t_x, and on (x, time) pairs, and real bases have few
// distinct ones (whole days), so each is computed once per evaluation.
type paretoLikelihood struct {
	rows     []weighted
	xs, ts   []float64
	pairs    [][2]int32 // distinct (x index, time index)
	xIdx     []int32    // per row: index of X in xs
	tIdx     []int32    // per row: index of T in ts
	txPair   []int32    // per row: pair of (X, TX)
	tPair    []int32    // per row: pair of (X, T)
	logG     []float64  // per pair: log G_x(t) (see paretoLogG)
	a1, e1   []float64  // per pair: A1 = -(r+x) ln(α+t) - s ln(β+t), and e^(A1 - log G_x(t))
	logA, lB []float64  // per time: ln(alpha+t), ln(beta+t)
	xTerm    []float64  // per x: ln Γ(r+x) - ln Γ(r) + r ln α + s ln β
}

func newParetoLikelihood(rows []weighted) *paretoLikelihood {
	l := &paretoLikelihood{rows: rows}
	xSeen, tSeen, pSeen := distinct[float64]{}, distinct[float64]{}, distinct[[2]int32]{}
	for _, r := range rows {
		xi, ti, txi := xSeen.index(&l.xs, r.X), tSeen.index(&l.ts, r.T), tSeen.index(&l.ts, r.TX)
		l.xIdx, l.tIdx = append(l.xIdx, xi), append(l.tIdx, ti)
		l.txPair = append(l.txPair, pSeen.index(&l.pairs, [2]int32{xi, txi}))
		l.tPair = append(l.tPair, pSeen.index(&l.pairs, [2]int32{xi, ti}))
	}
	l.logG, l.a1, l.e1 = make([]float64, len(l.pairs)), make([]float64, len(l.pairs)), make([]float64, len(l.pairs))
	l.logA, l.lB = make([]float64, len(l.ts)), make([]float64, len(l.ts))
	l.xTerm = make([]float64, len(l.xs))
	return l
}

// eval is the log-likelihood of Fader and Hardie ("A note on deriving the
// Pareto/NBD model and related expressions", 2005, eq. 19), per customer
//
//	ln Γ(r+x) - ln Γ(r) + r ln α + s ln β + ln[ (α+T)^-(r+x) (β+T)^-s + s ∫_{t_x}^T (α+y)^-(r+x) (β+y)^-(s+1) dy ]
//
// where the integral, s/(r+s+x) A_0 in the note, is G_x(t_x) - G_x(T).
// Per row it is written as ln G_x(t_x) + ln(s + (e^(A1 - ln G_x(T)) - s)
// e^-(ln G_x(t_x) - ln G_x(T))), A1 the first term's log: one exponential
// of a non-positive number and one logarithm, the ratio computed once per
// (x, T) pair.
func (l *paretoLikelihood) eval(p ParetoNBDParams) float64 {
	r, s := p.R, p.S
	for j, t := range l.ts {
		l.logA[j], l.lB[j] = math.Log(p.Alpha+t), math.Log(p.Beta+t)
	}
	for j, pr := range l.pairs {
		x, ti := l.xs[pr[0]], pr[1]
		l.logG[j] = paretoLogG(p, x, l.ts[ti], l.logA[ti], l.lB[ti])
		if math.IsNaN(l.logG[j]) {
			return math.NaN()
		}
		l.a1[j] = -(r+x)*l.logA[ti] - s*l.lB[ti]
		l.e1[j] = math.Exp(l.a1[j] - l.logG[j])
	}
	base := -lgamma(r) + r*math.Log(p.Alpha) + s*math.Log(p.Beta)
	for j, x := range l.xs {
		l.xTerm[j] = base + lgamma(r+x)
	}
	total := 0.0
	for i, row := range l.rows {
		j := l.tPair[i]
		v := l.a1[j]
		if row.TX < row.T {
			gx := l.logG[l.txPair[i]]
			v = gx + math.Log(s+(l.e1[j]-s)*math.Exp(l.logG[j]-gx))
		}
		total += row.n * (l.xTerm[l.xIdx[i]] + v)
	}
	return total
}

// paretoLogG is ln G_x(t), G_x(t) = ∫_t^∞ (α+y)^-(r+x) (β+y)^-(s+1) dy, given
// la = ln(α+t) and lb = ln(β+t). Expanding the factor of the smaller of α
// and β around the larger and applying Euler's transformation gives
//
//	α >= β: (α+t)^-(r+x)   (β+t)^-s     2F1(1, r+x; r+s+x+1; (α-β)/(α+t)) / (r+s+x)
//	α <  β: (α+t)^-(r+x-1) (β+t)^-(s+1) 2F1(1, s+1; r+s+x+1; (β-α)/(β+t)) / (r+s+x)
//
// series of positive terms each at most z times the previous one, so they
// neither cancel nor grow with x. NaN when the series does not settle
// (z within about 1e-5 of 1: α and β 10^5 apart).
func paretoLogG(p ParetoNBDParams, x, t, la, lb float64) float64 {
	r, s := p.R, p.S
	c := r + s + x + 1
	if p.Alpha >= p.Beta {
		return -(r+x)*la - s*lb + math.Log(hyp2f1One(r+x, c, (p.Alpha-p.Beta)/(p.Alpha+t))) - math.Log(c-1)
	}
	return -(r+x-1)*la - (s+1)*lb + math.Log(hyp2f1One(s+1, c, (p.Beta-p.Alpha)/(p.Beta+t))) - math.Log(c-1)
}

// hyp2f1One is 2F1(1, b; c; z) for 0 < b < c and 0 <= z < 1: the series
// sum_k (b)_k/(c)_k z^k, whose terms fall by at least z each. NaN, at once,
// when z is so close to 1 that it would need more than hyp2f1OneTerms
// terms (1-z below about 3e-4): the likelihood is then outside what a fit
// searches, as MaxLogParam's box is.
func hyp2f1One(b, c, z float64) float64 {
	if (1-z)*hyp2f1OneTerms < 40 {
		return math.NaN()
	}
	sum, term := 1.0, 1.0
	for k := 0.0; k < hyp2f1OneTerms; k++ {
		term *= (b + k) / (c + k) * z
		sum += term
		if term <= 1e-16*sum*(1-z) {
			return sum
		}
	}
	return math.NaN()
}

// hyp2f1OneTerms bounds hyp2f1One's series: at 1-z = 3e-4 it converges to
// 1e-16 in about 130,000 terms.
const hyp2f1OneTerms = 1 << 17

// log1mExp is ln(1 - e^v) for v <= 0 (-Inf at v = 0).
func log1mExp(v float64) float64 {
	if v > -math.Ln2 {
		return math.Log(-math.Expm1(v))
	}
	return math.Log1p(-math.Exp(v))
}

// ParetoNBDPAlive is the probability that a customer with history
// (x, tx, T) is still alive at T: 1 / (1 + s (α+T)^(r+x) (β+T)^s
// [G_x(t_x) - G_x(T)]) (Fader and Hardie 2005, eq. 18, with their A_0 as
// the integral of paretoLogG). Unlike BG/NBD's, it falls for one-time
// buyers (x = 0) as their silence lengthens. NaN when the series fails.
func ParetoNBDPAlive(p ParetoNBDParams, x, tx, T float64) float64 {
	if tx >= T {
		return 1
	}
	laT, lbT := math.Log(p.Alpha+T), math.Log(p.Beta+T)
	gx := paretoLogG(p, x, tx, math.Log(p.Alpha+tx), math.Log(p.Beta+tx))
	gT := paretoLogG(p, x, T, laT, lbT)
	return aliveFromLogOdds(math.Log(p.S) + gx + log1mExp(gT-gx) + (p.R+x)*laT + p.S*lbT)
}

// ParetoNBDExpectedPurchases is the expected number of purchases in the
// next t time units for a customer with history (x, tx, T) (Schmittlein,
// Morrison and Colombo 1987, eq. 22):
//
//	(r+x)(β+T) / ((α+T)(s-1)) [1 - ((β+T)/(β+T+t))^(s-1)] P(alive)
//
// whose limit at s = 1 is (r+x)(β+T)/(α+T) ln(1 + t/(β+T)) P(alive).
func ParetoNBDExpectedPurchases(p ParetoNBDParams, t, x, tx, T float64) float64 {
	var out [1]float64
	ParetoNBDExpectedPurchasesAt(p, []float64{t}, x, tx, T, out[:])
	return out[0]
}

// ParetoNBDExpectedPurchasesAt is ParetoNBDExpectedPurchases for several
// horizons ts at once (out[i] for ts[i]), computing P(alive) once.
func ParetoNBDExpectedPurchasesAt(p ParetoNBDParams, ts []float64, x, tx, T float64, out []float64) {
	alive := ParetoNBDPAlive(p, x, tx, T)
	rate := (p.R + x) * (p.Beta + T) / (p.Alpha + T) * alive
	for i, t := range ts {
		l := math.Log1p(math.Max(t, 0) / (p.Beta + T)) // ln((β+T+t)/(β+T))
		e := (p.S - 1) * l
		if math.Abs(e) < 1e-10 {
			out[i] = rate * l
			continue
		}
		out[i] = rate * -math.Expm1(-e) / (p.S - 1)
	}
}
