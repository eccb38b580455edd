package insights

import (
	"fmt"
	"strings"
)

// CountModel names the model of purchase counts and drop-out behind
// P(alive), expected purchases and CLV.
type CountModel string

const (
	// ModelParetoNBD is the Pareto/NBD of Schmittlein, Morrison and Colombo
	// (1987): a customer may leave at any moment (an exponential lifetime),
	// so a one-time buyer's P(alive) falls while they stay silent. The
	// refresh's default: on CDNOW's 39-week holdout it forecasts best (see
	// docs/intelligence.md).
	ModelParetoNBD CountModel = "pareto_nbd"
	// ModelBGNBD is the BG/NBD of Fader, Hardie and Lee (2005): drop-out
	// only right after a repeat purchase, so every one-time buyer has
	// P(alive) 1.
	ModelBGNBD CountModel = "bg_nbd"
	// ModelMBGNBD is the modified BG/NBD of Batislam, Denizel and Filiztekin
	// (2007): as BG/NBD, but a customer may also drop out right after the
	// first purchase.
	ModelMBGNBD CountModel = "mbg_nbd"

	// DefaultCountModel is the model a refresh fits unless told otherwise.
	DefaultCountModel = ModelParetoNBD
)

// CountModels lists the models by name, the default first.
var CountModels = []CountModel{ModelParetoNBD, ModelBGNBD, ModelMBGNBD}

// ParseCountModel reads a model name; "" is DefaultCountModel.
func ParseCountModel(s string) (CountModel, error) {
	if s == "" {
		return DefaultCountModel, nil
	}
	for _, m := range CountModels {
		if CountModel(s) == m {
			return m, nil
		}
	}
	names := make([]string, len(CountModels))
	for i, m := range CountModels {
		names[i] = string(m)
	}
	return "", fmt.Errorf("insights: unknown churn model %q: use one of %s (default %s)", s, strings.Join(names, ", "), string(DefaultCountModel))
}

// modified reports whether m lets customers drop out at their first
// purchase (MBG/NBD).
func (m CountModel) modified() bool { return m == ModelMBGNBD }

// String is the model's name as papers write it; "" is BG/NBD, the model
// of parameters stored before the choice existed.
func (m CountModel) String() string {
	switch m {
	case ModelParetoNBD:
		return "Pareto/NBD"
	case ModelMBGNBD:
		return "MBG/NBD"
	}
	return "BG/NBD"
}

// CountFit is a count model fitted by FitCountModel: Models with Kind and
// its parameters set (GG zero), the maximised log-likelihood and how the
// search went.
type CountFit struct {
	Models
	LogLikelihood float64
	FitReport
}

// FitCountModel fits model m by maximum likelihood (the search and its
// report as FitBGNBDReport's).
func FitCountModel(m CountModel, data []RFT) (CountFit, error) {
	if m == ModelParetoNBD {
		fit, err := FitParetoNBD(data)
		return CountFit{Models: Models{Kind: m, PNBD: fit.Params}, LogLikelihood: fit.LogLikelihood, FitReport: fit.FitReport}, err
	}
	fit, err := fitBGFamily(data, m.modified(), m.String())
	return CountFit{Models: Models{Kind: m, BG: fit.Params}, LogLikelihood: fit.LogLikelihood, FitReport: fit.FitReport}, err
}

// CountLogLikelihood is the total log-likelihood of data under model m
// (BG/NBD or MBG/NBD) with parameters p; Models.LogLikelihood takes any.
func CountLogLikelihood(m CountModel, p BGNBDParams, data []RFT) float64 {
	return newBGNBDLikelihood(compress(data), m.modified()).eval(p)
}

// PAliveOf is the probability that a customer with history (x, tx, T) is
// still active at T under model m (BG/NBD or MBG/NBD). Under MBG/NBD
// (Batislam et al. 2007) it is 1 / (1 + a/(b+x) ((alpha+T)/(alpha+tx))^(r+x))
// for every x, so a one-time buyer silent for long is likely gone; under
// BG/NBD (PAlive) it is 1 for x = 0.
func PAliveOf(m CountModel, p BGNBDParams, x, tx, T float64) float64 {
	return pAlive(p, m.modified(), x, tx, T)
}

// ExpectedPurchasesOf is the expected number of purchases in the next t
// time units under model m (ExpectedPurchases for BG/NBD; for MBG/NBD,
// Batislam et al. 2007: BG/NBD's expression with b+1 for b and the drop-out
// odds for every x). NaN when the series fails to converge.
func ExpectedPurchasesOf(m CountModel, p BGNBDParams, t, x, tx, T float64) float64 {
	var out [1]float64
	expectedPurchasesAt(p, m.modified(), []float64{t}, x, tx, T, out[:])
	return out[0]
}
