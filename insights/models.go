package insights

import (
	"fmt"
	"time"
)

// FitModels fits BG/NBD and Gamma-Gamma to a customer base at the clock
// now, in the given time unit (default week), from the store's per-customer
// metrics (see StatsRFT for the conversion). Prospects are skipped. When
// fewer than two customers have repeat purchases the Gamma-Gamma part is
// left zero (CLV then reads 0) and no error is returned for it.
func FitModels(customers []CustomerStats, now time.Time, unit time.Duration) (Models, error) {
	data := make([]RFT, 0, len(customers))
	var freq, mean []float64
	for _, c := range customers {
		if c.Orders <= 0 {
			continue
		}
		rft := StatsRFT(c, now, unit)
		data = append(data, rft)
		if rft.X > 0 && c.TotalSpent > 0 {
			freq = append(freq, rft.X)
			mean = append(mean, c.TotalSpent/float64(c.Orders))
		}
	}
	bg, _, err := FitBGNBD(data)
	if err != nil {
		return Models{}, fmt.Errorf("insights: fit models: %w", err)
	}
	m := Models{BG: bg}
	if len(freq) >= 2 {
		if m.GG, err = FitGammaGamma(freq, mean); err != nil {
			return Models{}, fmt.Errorf("insights: fit models: %w", err)
		}
	}
	return m, nil
}
