package insights

import "math"

// MeanDiff is the difference between the mean of a treated group and the
// mean of a control group (revenue or orders per customer), with its 95%
// confidence interval from the unpooled (Welch) normal approximation,
// which fits the large groups a holdout of customers gives.
type MeanDiff struct {
	Treated  float64 `json:"treated"` // the treated group's mean
	Control  float64 `json:"control"` // the control group's mean
	Diff     float64 `json:"diff"`    // Treated - Control
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
	Relative float64 `json:"relative"` // Diff / Control; 0 when Control is 0
	// Significant is set when the interval excludes 0.
	Significant bool `json:"significant"`
}

// Sums are the running sums of one group's values: enough for its mean
// and variance without keeping the values.
type Sums struct {
	N          int64
	Sum, SumSq float64
}

// Add counts one value.
func (s *Sums) Add(x float64) {
	s.N++
	s.Sum += x
	s.SumSq += x * x
}

// mean and variance (the unbiased sample variance; 0 below two values).
func (s Sums) mean() float64 { return s.Sum / float64(s.N) }

func (s Sums) variance() float64 {
	if s.N < 2 {
		return 0
	}
	m := s.mean()
	return math.Max(0, (s.SumSq-float64(s.N)*m*m)/float64(s.N-1))
}

// CompareMeans measures the difference of the treated group's mean over
// the control group's. It reports false when either group is empty.
func CompareMeans(treated, control Sums) (MeanDiff, bool) {
	if treated.N <= 0 || control.N <= 0 {
		return MeanDiff{}, false
	}
	d := MeanDiff{Treated: treated.mean(), Control: control.mean()}
	d.Diff = d.Treated - d.Control
	se := math.Sqrt(treated.variance()/float64(treated.N) + control.variance()/float64(control.N))
	d.Low, d.High = d.Diff-z975*se, d.Diff+z975*se
	d.Significant = d.Low > 0 || d.High < 0
	if d.Control != 0 {
		d.Relative = d.Diff / d.Control
	}
	return d, true
}
