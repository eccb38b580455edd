package insights

import "math"

// NPS is a Net Promoter Score: the share of promoters minus the share of
// detractors, in points from -100 to 100, with its 95% confidence
// interval.
//
// Each answer is scored +1 (promoter), 0 (passive) or -1 (detractor); the
// NPS is 100 times their mean. The interval is the adjusted Wald interval
// of that mean: one pseudo-answer is added to each group before the
// standard error is computed (and the interval centred on the adjusted
// mean), so a small or unanimous sample (five promoters out of five) gets
// an honest width instead of none. It is clipped to [-100, 100].
type NPS struct {
	Score float64 `json:"score"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// NetPromoterScore computes the NPS of promoters, passives and detractors
// (counts of answers). It reports false without any answer.
func NetPromoterScore(promoters, passives, detractors int64) (NPS, bool) {
	n := promoters + passives + detractors
	if n <= 0 || promoters < 0 || passives < 0 || detractors < 0 {
		return NPS{}, false
	}
	out := NPS{Score: 100 * float64(promoters-detractors) / float64(n)}
	an := float64(n + 3)
	pp, pd := float64(promoters+1)/an, float64(detractors+1)/an
	mean := pp - pd
	se := math.Sqrt((pp + pd - mean*mean) / an)
	out.Low = math.Max(-100, 100*(mean-z975*se))
	out.High = math.Min(100, 100*(mean+z975*se))
	return out, true
}
