package insights

import (
	"fmt"
	"time"
)

// Models holds a fitted count model (Kind, with its parameters in BG for
// BG/NBD and MBG/NBD or PNBD for Pareto/NBD) and Gamma-Gamma parameters, in
// the time unit ScoreOptions.Unit. A zero GG leaves CLV at 0; a zero Kind
// is BG/NBD.
type Models struct {
	Kind CountModel
	BG   BGNBDParams
	PNBD ParetoNBDParams
	GG   GGParams
}

// CountValid reports whether the count model's parameters are valid.
func (m Models) CountValid() bool {
	if m.Kind == ModelParetoNBD {
		return m.PNBD.Valid()
	}
	return m.BG.Valid()
}

// CountParams describes the count model and its parameters, for errors
// and logs: "Pareto/NBD r=0.5533 alpha=10.58 s=0.6062 beta=11.67".
func (m Models) CountParams() string {
	if m.Kind == ModelParetoNBD {
		p := m.PNBD
		return fmt.Sprintf("%s r=%.4g alpha=%.4g s=%.4g beta=%.4g", m.Kind, p.R, p.Alpha, p.S, p.Beta)
	}
	p := m.BG
	return fmt.Sprintf("%s r=%.4g alpha=%.4g a=%.4g b=%.4g", m.Kind, p.R, p.Alpha, p.A, p.B)
}

// PAlive is the probability that a customer with history (x, tx, T) is
// still active at T under the count model.
func (m Models) PAlive(x, tx, T float64) float64 {
	if m.Kind == ModelParetoNBD {
		return ParetoNBDPAlive(m.PNBD, x, tx, T)
	}
	return pAlive(m.BG, m.Kind.modified(), x, tx, T)
}

// ExpectedPurchases is the expected number of purchases in the next t time
// units under the count model; NaN when a series fails to converge.
func (m Models) ExpectedPurchases(t, x, tx, T float64) float64 {
	var out [1]float64
	m.ExpectedPurchasesAt([]float64{t}, x, tx, T, out[:])
	return out[0]
}

// ExpectedPurchasesAt is ExpectedPurchases for several horizons ts at once
// (out[i] for ts[i]); len(out) must be >= len(ts).
func (m Models) ExpectedPurchasesAt(ts []float64, x, tx, T float64, out []float64) {
	if m.Kind == ModelParetoNBD {
		ParetoNBDExpectedPurchasesAt(m.PNBD, ts, x, tx, T, out)
		return
	}
	expectedPurchasesAt(m.BG, m.Kind.modified(), ts, x, tx, T, out)
}

// LogLikelihood is the total log-likelihood of data under the count model.
func (m Models) LogLikelihood(data []RFT) float64 {
	if m.Kind == ModelParetoNBD {
		return ParetoNBDLogLikelihood(m.PNBD, data)
	}
	return CountLogLikelihood(m.Kind, m.BG, data)
}

// FitModels fits count model kind ("" is DefaultCountModel) and
// Gamma-Gamma to a purchase log at calibrationEnd, in the given time unit
// (default week), counting purchase days as Summaries does: several orders
// on one date are one purchase of their summed value, and Gamma-Gamma reads
// the mean value of the repeat purchase days. The refresh
// (worker.RefreshInsights) fits the same summaries, so the same purchases
// give the same models. When fewer than two customers have repeat
// purchases the Gamma-Gamma part is left zero (CLV then reads 0) and no
// error is returned for it.
func FitModels(purchases []Purchase, calibrationEnd time.Time, unit time.Duration, kind CountModel) (Models, error) {
	sums := Summaries(purchases, calibrationEnd, unit)
	data := make([]RFT, len(sums))
	var freq, mean []float64
	for i, s := range sums {
		data[i] = s.RFT
		if s.X > 0 && s.MonetaryMean > 0 {
			freq, mean = append(freq, s.X), append(mean, s.MonetaryMean)
		}
	}
	if kind == "" {
		kind = DefaultCountModel
	}
	fit, err := FitCountModel(kind, data)
	if err != nil {
		return Models{}, fmt.Errorf("insights: fit models: %w", err)
	}
	m := fit.Models
	if len(freq) >= 2 {
		if m.GG, err = FitGammaGamma(freq, mean); err != nil {
			return Models{}, fmt.Errorf("insights: fit models: %w", err)
		}
	}
	return m, nil
}
