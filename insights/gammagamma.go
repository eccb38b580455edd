package insights

import (
	"fmt"
	"math"
)

// GGParams are the Gamma-Gamma spend model parameters (Fader and Hardie,
// "The Gamma-Gamma Model of Monetary Value", 2013): a purchase's value is
// Gamma(P, nu) around the customer's mean, nu is Gamma(Q, V) across
// customers. V is in currency units; P and Q are unit-free.
type GGParams struct {
	P, Q, V float64
}

// Valid reports whether every parameter is finite and positive.
func (g GGParams) Valid() bool {
	for _, v := range []float64{g.P, g.Q, g.V} {
		if !(v > 0) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// FitGammaGamma fits the Gamma-Gamma model by maximum likelihood on
// customers with at least one repeat purchase: freq[i] is the number of
// repeat purchases x and monetaryMean[i] the mean value of those repeat
// purchases. Rows with x <= 0 are skipped (the model says nothing about
// them); rows with x > 0 and a non-positive mean are an error.
func FitGammaGamma(freq, monetaryMean []float64) (GGParams, error) {
	fit, err := FitGammaGammaReport(freq, monetaryMean)
	return fit.Params, err
}

// GGFit is a Gamma-Gamma fit with its diagnostics.
type GGFit struct {
	Params GGParams
	FitReport
}

// FitGammaGammaReport is FitGammaGamma with the optimisation's report (see
// FitBGNBDReport): the search is bounded the same way.
func FitGammaGammaReport(freq, monetaryMean []float64) (GGFit, error) {
	if len(freq) != len(monetaryMean) {
		return GGFit{}, fmt.Errorf("insights: fit Gamma-Gamma: %d frequencies but %d means", len(freq), len(monetaryMean))
	}
	rows, err := ggRows(freq, monetaryMean)
	if err != nil {
		return GGFit{}, err
	}
	x, _, rep, err := minimizeLog(func(lp []float64) float64 {
		return -rows.logLik(GGParams{P: math.Exp(lp[0]), Q: math.Exp(lp[1]), V: math.Exp(lp[2])})
	}, []float64{0, 0, 0}, []string{"p", "q", "v"})
	if err != nil {
		return GGFit{}, fmt.Errorf("insights: fit Gamma-Gamma: %w", err)
	}
	g := GGParams{P: math.Exp(x[0]), Q: math.Exp(x[1]), V: math.Exp(x[2]) / rows.scale}
	if !g.Valid() {
		return GGFit{}, fmt.Errorf("insights: fit Gamma-Gamma: diverged to %+v", g)
	}
	return GGFit{Params: g, FitReport: rep}, nil
}

// ggData is the Gamma-Gamma input grouped by distinct (x, mean), with the
// money scaled so the mean spend is about 1 (v scales back; p and q are
// unit-free) and the parameter-free logs precomputed.
type ggData struct {
	x, m, logM, logX, n []float64
	scale               float64
}

func ggRows(freq, monetaryMean []float64) (*ggData, error) {
	type key struct{ x, m float64 }
	index := map[key]int{}
	d := &ggData{}
	sum := 0.0
	for i, x := range freq {
		if !(x > 0) {
			continue
		}
		m := monetaryMean[i]
		if !(m > 0) || math.IsInf(m, 0) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("insights: fit Gamma-Gamma: row %d: invalid (x=%g, mean=%g)", i, x, m)
		}
		sum += m
		if j, ok := index[key{x, m}]; ok {
			d.n[j]++
			continue
		}
		index[key{x, m}] = len(d.x)
		d.x, d.m, d.n = append(d.x, x), append(d.m, m), append(d.n, 1)
	}
	if len(d.x) == 0 {
		return nil, fmt.Errorf("insights: fit Gamma-Gamma: %w", ErrNoData)
	}
	total := 0.0
	for _, n := range d.n {
		total += n
	}
	d.scale = total / sum
	for i := range d.x {
		d.m[i] *= d.scale
		d.logM, d.logX = append(d.logM, math.Log(d.m[i])), append(d.logX, math.Log(d.x[i]))
	}
	return d, nil
}

// logLik is the total log-likelihood up to a parameter-free term (the form
// lifetimes uses): per customer lgamma(px+q) - lgamma(px) - lgamma(q) +
// q ln v + (px-1) ln m + px ln x - (px+q) ln(xm+v).
func (d *ggData) logLik(g GGParams) float64 {
	base := -lgamma(g.Q) + g.Q*math.Log(g.V)
	total := 0.0
	for i, x := range d.x {
		px := g.P * x
		total += d.n[i] * (base + lgamma(px+g.Q) - lgamma(px) + (px-1)*d.logM[i] + px*d.logX[i] - (px+g.Q)*math.Log(x*d.m[i]+g.V))
	}
	return total
}

// ExpectedSpend is the expected value of a customer's future purchases given
// x repeat purchases with mean value mean (in currency units): a weighted
// average of the population mean p*v/(q-1) and the customer's own mean. For
// x = 0 it is the population mean. It is +Inf when q <= 1 (the population
// mean does not exist).
func ExpectedSpend(g GGParams, x, mean float64) float64 {
	if x <= 0 {
		mean = 0
		x = 0
	}
	d := g.P*x + g.Q - 1
	if d <= 0 {
		return math.Inf(1)
	}
	return g.P * (g.V + x*mean) / d
}

// CLV is a customer's discounted expected future revenue, following the
// lifetimes library's discounted approach: for each of horizonPeriods
// periods of one model time unit (a week when the models are fitted in
// weeks), the BG/NBD expected purchases in that period times the
// Gamma-Gamma expected spend, discounted by (1+discountRatePerPeriod)^i.
// The result is in the currency of mean. See CLVPeriods for periods longer
// than one time unit (lifetimes' default is months of 4.345 weeks).
func CLV(bg BGNBDParams, gg GGParams, x, tx, T, mean float64, horizonPeriods int, discountRatePerPeriod float64) float64 {
	return CLVPeriods(bg, gg, x, tx, T, mean, horizonPeriods, 1, discountRatePerPeriod)
}

// CLVPeriods is CLV with periods of periodLength model time units: period i
// (1-based) covers ((i-1)*periodLength, i*periodLength] and is discounted by
// (1+discountRatePerPeriod)^i. lifetimes' customer_lifetime_value with
// freq="W", time=12 and discount_rate=0.01 is CLVPeriods(..., 12, 4.345, 0.01).
func CLVPeriods(bg BGNBDParams, gg GGParams, x, tx, T, mean float64, periods int, periodLength, discountRatePerPeriod float64) float64 {
	return Models{Kind: ModelBGNBD, BG: bg, GG: gg}.CLV(x, tx, T, mean, periods, periodLength, discountRatePerPeriod)
}

// CLV is CLVPeriods with the expected purchases of m's count model and its
// Gamma-Gamma parameters.
func (m Models) CLV(x, tx, T, mean float64, periods int, periodLength, discountRatePerPeriod float64) float64 {
	if periods <= 0 {
		return 0
	}
	var tBuf, cumBuf [64]float64
	ts, cum := tBuf[:0], cumBuf[:]
	if periods > len(tBuf) {
		ts, cum = make([]float64, 0, periods), make([]float64, periods)
	}
	for i := 1; i <= periods; i++ {
		ts = append(ts, float64(i)*periodLength)
	}
	m.ExpectedPurchasesAt(ts, x, tx, T, cum)
	spend := ExpectedSpend(m.GG, x, mean)
	total, prev, discount := 0.0, 0.0, 1.0
	for i := range ts {
		discount /= 1 + discountRatePerPeriod
		total += spend * (cum[i] - prev) * discount
		prev = cum[i]
	}
	return total
}
