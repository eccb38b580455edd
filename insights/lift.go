package insights

import (
	"fmt"
	"math"
	"strconv"
)

// Lift is the difference in conversion rate between a treated arm and the
// holdout, in proportion units (0.04 = 4 percentage points), with its 95%
// confidence interval from the two-proportion (Wald, unpooled) normal
// approximation, and the two-sided p-value of the pooled z-test.
type Lift struct {
	Diff        float64 `json:"diff"`
	Low         float64 `json:"low"`
	High        float64 `json:"high"`
	Relative    float64 `json:"relative"` // Diff / holdout rate; 0 when the holdout rate is 0
	PValue      float64 `json:"p_value"`
	Significant bool    `json:"significant"` // the interval excludes 0
	// MoreNeeded estimates how many more recipients (both arms together, at
	// the current split) would make the observed difference significant at
	// 95% with 80% power; 0 when already significant or not estimable.
	MoreNeeded int64 `json:"more_needed"`
}

// The normal quantiles behind a two-sided 95% test with 80% power.
const (
	z975 = 1.959963984540054  // Φ⁻¹(0.975)
	z80  = 0.8416212335729143 // Φ⁻¹(0.80)
)

// CompareProportions measures the lift of a treated group (x1 converters out
// of n1) over a control group (x0 out of n0). It reports false when either
// group is empty, since no rate can be compared then.
func CompareProportions(x1, n1, x0, n0 int64) (Lift, bool) {
	if n1 <= 0 || n0 <= 0 || x1 < 0 || x0 < 0 || x1 > n1 || x0 > n0 {
		return Lift{}, false
	}
	p1, p0 := float64(x1)/float64(n1), float64(x0)/float64(n0)
	l := Lift{Diff: p1 - p0}
	se := math.Sqrt(p1*(1-p1)/float64(n1) + p0*(1-p0)/float64(n0))
	l.Low, l.High = l.Diff-z975*se, l.Diff+z975*se
	l.Significant = l.Low > 0 || l.High < 0
	if p0 > 0 {
		l.Relative = l.Diff / p0
	}
	l.PValue = pooledPValue(x1, n1, x0, n0)
	if !l.Significant {
		l.MoreNeeded = moreNeeded(p1, p0, n1, n0)
	}
	return l, true
}

// pooledPValue is the two-sided p-value of the pooled two-proportion z-test
// (1 when both groups have the same all-or-nothing rate).
func pooledPValue(x1, n1, x0, n0 int64) float64 {
	p := float64(x1+x0) / float64(n1+n0)
	se := math.Sqrt(p * (1 - p) * (1/float64(n1) + 1/float64(n0)))
	if se == 0 {
		return 1
	}
	z := (float64(x1)/float64(n1) - float64(x0)/float64(n0)) / se
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// moreNeeded is the classic sample size for comparing two proportions with
// unequal allocation (Fleiss), at the observed rates and the current ratio
// k = n0/n1, for a two-sided 95% test with 80% power, minus the recipients
// already there. 0 when the rates are equal (any size would do as well).
func moreNeeded(p1, p0 float64, n1, n0 int64) int64 {
	d := math.Abs(p1 - p0)
	if d == 0 {
		return 0
	}
	k := float64(n0) / float64(n1)
	pbar := (p1 + k*p0) / (1 + k)
	a := z975 * math.Sqrt(pbar*(1-pbar)*(1+1/k))
	b := z80 * math.Sqrt(p1*(1-p1)+p0*(1-p0)/k)
	need1 := (a + b) * (a + b) / (d * d)
	total := int64(math.Ceil(need1 * (1 + k)))
	return max(0, total-n1-n0)
}

// Verdict reads a lift in plain language for a marketer. l is nil when the
// campaign keeps no holdout.
func Verdict(l *Lift) string {
	if l == nil {
		return "no holdout: lift cannot be measured"
	}
	effect := fmt.Sprintf("%s (95%% CI %s to %s)", pointsPhrase(l.Diff), points(l.Low), points(l.High))
	switch {
	case l.Significant && l.Diff > 0:
		return "treated customers converted " + effect + ": a real effect"
	case l.Significant:
		return "treated customers converted " + effect + ": the campaign lowered conversion"
	case l.MoreNeeded > 0:
		return fmt.Sprintf("no evidence of effect yet: need about %s more recipients (treated customers converted %s)",
			roughCount(l.MoreNeeded), effect)
	default:
		return "no evidence of effect: treated customers converted " + effect
	}
}

// pointsPhrase says a difference in percentage points, e.g. "4.1 points more".
func pointsPhrase(d float64) string {
	switch p := math.Round(d * 1000); {
	case p > 0:
		return points(d) + " points more"
	case p < 0:
		return points(-d) + " points less"
	default:
		return "as often as the holdout"
	}
}

// points formats a proportion as percentage points with one decimal.
func points(d float64) string {
	s := strconv.FormatFloat(d*100, 'f', 1, 64)
	if s == "-0.0" {
		return "0.0"
	}
	return s
}

// roughCount rounds n to two significant digits and groups thousands
// (4213 -> "4,200"): the estimate is not more precise than that.
func roughCount(n int64) string {
	scale := int64(1)
	for n/scale >= 100 {
		scale *= 10
	}
	n = (n + scale/2) / scale * scale
	s := strconv.FormatInt(n, 10)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
