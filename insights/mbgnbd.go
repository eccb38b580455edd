package insights

import "fmt"

// CountModel names the model of purchase counts and drop-out behind
// P(alive), expected purchases and CLV. Both share BGNBDParams: purchase
// rates Gamma(R, Alpha) across customers, a drop-out probability Beta(A, B).
type CountModel string

const (
	// ModelMBGNBD is the modified BG/NBD of Batislam, Denizel and Filiztekin
	// (2007): as BG/NBD, but a customer may also drop out right after the
	// first purchase, so a one-time buyer's P(alive) falls while they stay
	// silent. The refresh's default.
	ModelMBGNBD CountModel = "mbgnbd"
	// ModelBGNBD is the BG/NBD of Fader, Hardie and Lee (2005): drop-out
	// only after a repeat purchase, so every one-time buyer has P(alive) 1.
	ModelBGNBD CountModel = "bgnbd"
)

// ParseCountModel reads a model name; "" is the default, MBG/NBD.
func ParseCountModel(s string) (CountModel, error) {
	switch CountModel(s) {
	case "":
		return ModelMBGNBD, nil
	case ModelMBGNBD, ModelBGNBD:
		return CountModel(s), nil
	}
	return "", fmt.Errorf("insights: unknown churn model %q: use %q (the default) or %q", s, ModelMBGNBD, ModelBGNBD)
}

// modified reports whether m lets customers drop out at their first
// purchase (MBG/NBD); "" is BG/NBD, the model of parameters stored before
// the choice existed.
func (m CountModel) modified() bool { return m == ModelMBGNBD }

// String is the model's name as papers write it.
func (m CountModel) String() string {
	if m.modified() {
		return "MBG/NBD"
	}
	return "BG/NBD"
}

// FitCountModel fits model m by maximum likelihood (the search and its
// report as FitBGNBDReport's).
func FitCountModel(m CountModel, data []RFT) (BGNBDFit, error) {
	return fitBGFamily(data, m.modified(), m.String())
}

// CountLogLikelihood is the total log-likelihood of data under model m.
func CountLogLikelihood(m CountModel, p BGNBDParams, data []RFT) float64 {
	return newBGNBDLikelihood(compress(data), m.modified()).eval(p)
}

// PAliveOf is the probability that a customer with history (x, tx, T) is
// still active at T under model m. Under MBG/NBD (Batislam et al. 2007) it
// is 1 / (1 + a/(b+x) ((alpha+T)/(alpha+tx))^(r+x)) for every x, so a
// one-time buyer silent for long is likely gone; under BG/NBD (PAlive) it is
// 1 for x = 0.
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
