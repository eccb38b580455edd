package insights

import (
	"fmt"
	"math"
	"time"
)

// A holdout calibration checks the count model's forecast on the shop's own
// purchases: the model is fitted on the histories up to a cut (the
// calibration period), each customer's expected purchase days over the
// holdout (the cut to the refresh clock) are compared with the days they
// bought, in total and per bucket of calibration repeat purchase days, as
// docs/forecast-calibration.svg shows it for CDNOW.

// CalibrationBuckets is the number of frequency buckets: customers with 0,
// 1, ..., 6 repeat purchase days in the calibration period, and 7 or more.
const CalibrationBuckets = 8

// MinCalibrationCustomers is the fewest customers who bought before the cut
// that a calibration is computed for.
const MinCalibrationCustomers = 100

// HoldoutCase is one customer of a calibration / holdout split: the
// summary at the cut and the purchase days after it, up to the clock.
type HoldoutCase struct {
	RFT
	Actual float64
}

// SplitHoldout summarises one customer's purchases (oldest first) as
// Summaries does at cut, and counts their purchase days after cut's date up
// to end's date. ok is false when they had not bought by cut.
func SplitHoldout(purchases []Purchase, cut, end time.Time, unit time.Duration) (HoldoutCase, bool) {
	sums := Summaries(purchases, cut, unit)
	if len(sums) == 0 {
		return HoldoutCase{}, false
	}
	cutDay, endDay := dayNumber(cut), dayNumber(end)
	h, last := HoldoutCase{RFT: sums[0].RFT}, cutDay
	for _, p := range purchases {
		if d := dayNumber(p.At); d > last && d <= endDay {
			h.Actual++
			last = d
		}
	}
	return h, true
}

// CalibrationBucket is one frequency bucket of a Calibration: its
// customers and their predicted and actual purchase days over the holdout.
type CalibrationBucket struct {
	X         int     `json:"x"` // repeat purchase days in the calibration period (the last bucket: X or more)
	Customers int     `json:"customers"`
	Predicted float64 `json:"predicted"`
	Actual    float64 `json:"actual"`
}

// DefaultHoldoutWeeks is the holdout of the scheduled refresh's calibration
// (TIDINGS_CALIBRATION_HOLDOUT_WEEKS): 39 weeks, as the published CDNOW
// studies split their 78 weeks.
const DefaultHoldoutWeeks = 39

// CalibrationRecord is how a refresh stores its calibration with the
// fitted model (insights_models.params): the calibration, or why there is
// none (Note).
type CalibrationRecord struct {
	Calibration *Calibration `json:"calibration,omitempty"`
	Note        string       `json:"calibration_note,omitempty"`
}

// Calibration is a holdout check of a count model: fitted (Model) on the
// purchases up to Cut, its forecast of the purchase days from Cut to End
// (HoldoutWeeks) against what the customers who had bought by Cut did.
type Calibration struct {
	Cut          time.Time           `json:"cut"`
	End          time.Time           `json:"end"`
	HoldoutWeeks float64             `json:"holdout_weeks"`
	Model        string              `json:"model"` // the count model and its parameters, fitted on the calibration period
	Customers    int                 `json:"customers"`
	Predicted    float64             `json:"predicted"`
	Actual       float64             `json:"actual"`
	Buckets      []CalibrationBucket `json:"buckets"`
}

// Error is the aggregate relative error, predicted over actual less 1.
func (c Calibration) Error() float64 { return c.Predicted/c.Actual - 1 }

// Calibrate forecasts each case's purchases over horizon time units with m
// and adds them up, in total and per frequency bucket.
func Calibrate(m Models, cases []HoldoutCase, horizon float64) Calibration {
	c := Calibration{Model: m.CountParams(), Customers: len(cases), Buckets: make([]CalibrationBucket, CalibrationBuckets)}
	for k := range c.Buckets {
		c.Buckets[k].X = k
	}
	for _, h := range cases {
		pred := m.ExpectedPurchases(horizon, h.X, h.TX, h.T)
		if math.IsNaN(pred) || math.IsInf(pred, 0) {
			continue
		}
		b := &c.Buckets[min(int(h.X), CalibrationBuckets-1)]
		b.Customers++
		b.Predicted += pred
		b.Actual += h.Actual
		c.Predicted += pred
		c.Actual += h.Actual
	}
	return c
}

// String is the aggregate: "Pareto/NBD ...: 17154 predicted, 19684 actual (-12.9%)".
func (c Calibration) String() string {
	return fmt.Sprintf("%s: %.0f predicted, %.0f actual (%+.1f%%)", c.Model, c.Predicted, c.Actual, 100*c.Error())
}
