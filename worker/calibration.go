package worker

import (
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/insights"
)

// calibrationCut is the end of the calibration period: weeks before now.
func calibrationCut(now time.Time, weeks float64) time.Time {
	return now.Add(-time.Duration(weeks * float64(7*24*time.Hour)))
}

// addHoldout keeps one buyer's calibration / holdout split (purchases
// oldest first) and the earliest purchase of the base.
func (in *fitInputs) addHoldout(purchases []insights.Purchase, first, cut, now time.Time, unit time.Duration) {
	if in.first.IsZero() || first.Before(in.first) {
		in.first = first
	}
	if h, ok := insights.SplitHoldout(purchases, cut, now, unit); ok {
		in.holdout = append(in.holdout, h)
	}
}

// calibrate fits the count model on the histories up to the cut and
// compares its forecast of the holdout with the purchases made in it; when
// the history is too short it says why instead.
func calibrate(in *fitInputs, now time.Time, opts InsightsOptions) (*insights.Calibration, string) {
	weeks := opts.CalibrationWeeks
	cut := calibrationCut(now, weeks)
	cases := in.holdout
	in.holdout = nil
	need := fmt.Sprintf("a %g-week check needs purchases from before %s (twice the holdout back)", weeks,
		calibrationCut(cut, weeks).Format(time.DateOnly))
	switch {
	case in.first.IsZero() || in.first.After(calibrationCut(cut, weeks)):
		return nil, "not enough history yet: " + need
	case len(cases) < insights.MinCalibrationCustomers:
		return nil, fmt.Sprintf("not enough history yet: %d customers had bought by %s, the check needs %d",
			len(cases), cut.Format(time.DateOnly), insights.MinCalibrationCustomers)
	}
	rft := make([]insights.RFT, len(cases))
	actual := 0.0
	for i, h := range cases {
		rft[i], actual = h.RFT, actual+h.Actual
	}
	if actual == 0 {
		return nil, fmt.Sprintf("no purchase since %s by the customers who had bought before: nothing to check the forecast against",
			cut.Format(time.DateOnly))
	}
	if len(rft) > insights.FitSampleSize {
		rft = sampled(rft, insights.SampleIndices(len(rft), insights.FitSampleSize, fitSeed))
	}
	fit, err := insights.FitCountModel(opts.Model, rft)
	if err != nil {
		return nil, fmt.Sprintf("the calibration fit failed: %v", err)
	}
	horizon := weeks * float64(7*24*time.Hour) / float64(opts.Score.Unit)
	c := insights.Calibrate(fit.Models, cases, horizon)
	c.Cut, c.End, c.HoldoutWeeks = cut.UTC(), now.UTC(), weeks
	return &c, ""
}
