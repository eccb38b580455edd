package insights

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// cdnowHoldout splits the CDNOW log at 1997-09-30: the calibration summary
// of each customer (purchase days, weeks) and their purchase days in the
// 39 weeks after, 1997-10-01 to 1998-06-30.
func cdnowHoldout(t testing.TB) []HoldoutCase {
	purchases := cdnowMaster(t)
	calEnd := time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
	sums := Summaries(purchases, calEnd, 7*24*time.Hour)
	days := map[string]map[int64]bool{}
	for _, p := range purchases {
		if d := dayNumber(p.At); d > dayNumber(calEnd) {
			if days[p.CustomerID] == nil {
				days[p.CustomerID] = map[int64]bool{}
			}
			days[p.CustomerID][d] = true
		}
	}
	out := make([]HoldoutCase, len(sums))
	for i, s := range sums {
		out[i] = HoldoutCase{RFT: s.RFT, Actual: float64(len(days[s.CustomerID]))}
	}
	return out
}

// forecastBuckets groups customers by calibration repeat purchases: 0, 1,
// ..., 6, and 7 or more.
const forecastBuckets = CalibrationBuckets

// forecast is a model's 39-week holdout forecast against what happened, in
// total and per calibration-frequency bucket.
type forecast struct {
	models Models
	Calibration
}

func (f forecast) err() float64 { return f.Error() }

// bucketErr is bucket k's relative error, predicted over actual less 1.
func (f forecast) bucketErr(k int) float64 { return f.Buckets[k].Predicted/f.Buckets[k].Actual - 1 }

func forecastHoldout(t testing.TB, m CountModel, cases []HoldoutCase) forecast {
	data := make([]RFT, len(cases))
	for i, c := range cases {
		data[i] = c.RFT
	}
	fit, err := FitCountModel(m, data)
	if err != nil {
		t.Fatal(err)
	}
	return forecast{models: fit.Models, Calibration: Calibrate(fit.Models, cases, 39)}
}

// String is the forecast as a row of docs/intelligence.md's table: the
// model and its parameters, predicted, actual, error, then predicted /
// actual purchase days per customer of each bucket.
func (f forecast) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s | %.0f | %.0f | %+.1f%% |", f.models.CountParams(), f.Predicted, f.Actual, 100*f.err())
	for _, k := range f.Buckets {
		fmt.Fprintf(&b, " %.2f / %.2f |", k.Predicted/float64(k.Customers), k.Actual/float64(k.Customers))
	}
	return b.String()
}

// TestForecastAccuracyOnCDNOW is the 39-week calibration / 39-week holdout
// test of each count model on the whole CDNOW log: fitted on the purchase
// days up to 1997-09-30, each customer's expected purchase days over the
// next 39 weeks (1997-10-01 to 1998-06-30) are summed and compared with the
// days they actually bought (19,684), in total and per bucket of
// calibration repeat purchase days (0, 1, ..., 6, 7+).
//
// Measured (aggregate; buckets x=0, 1, 2, 3):
//   - Pareto/NBD 17,154, -12.9% (-42%, -21%, -14%, -2%; +3% or better from 4 up);
//   - BG/NBD 16,874, -14.3% (-8%, -34%, -26%, -14%);
//   - MBG/NBD 15,934, -19.1% (-28%, -30%, -26%, -15%).
//
// Pareto/NBD is the default because it lets one-time buyers lapse and
// still has the smallest aggregate error: the test holds it to beat
// BG/NBD's, every model's aggregate to its measured value within 1.5
// points, and each bucket to the bound stated for it (the measured error
// widened by 5 points). The default's weak spot is the one-time
// buyers (x = 0: 0.15 forecast against 0.25 bought per customer): CDNOW's
// second year brought many of them back, which a model that lets them
// lapse discounts; BG/NBD, which keeps them all alive, gets that bucket
// right and the repeat buyers wrong.
func TestForecastAccuracyOnCDNOW(t *testing.T) {
	t.Parallel()
	cases := cdnowHoldout(t)
	models := []struct {
		m       CountModel
		want    float64                  // measured aggregate error
		buckets [forecastBuckets]float64 // largest |error| allowed per bucket
	}{
		{ModelParetoNBD, -0.129, [forecastBuckets]float64{0.47, 0.26, 0.19, 0.08, 0.08, 0.08, 0.05, 0.07}},
		{ModelBGNBD, -0.143, [forecastBuckets]float64{0.13, 0.39, 0.31, 0.19, 0.13, 0.11, 0.13, 0.07}},
		{ModelMBGNBD, -0.191, [forecastBuckets]float64{0.34, 0.35, 0.31, 0.21, 0.16, 0.14, 0.16, 0.13}},
	}
	if models[0].m != DefaultCountModel {
		t.Fatalf("the first row must be the default model %s", DefaultCountModel)
	}
	errs := map[CountModel]float64{}
	var all []forecast
	for _, c := range models {
		f := forecastHoldout(t, c.m, cases)
		all = append(all, f)
		t.Logf("%s", f)
		errs[c.m] = f.err()
		if f.Actual != 19684 {
			t.Fatalf("holdout has %.0f purchase days, want 19,684", f.Actual)
		}
		if math.Abs(f.err()-c.want) > 0.015 {
			t.Errorf("%s: aggregate error %+.1f%%, measured %+.1f%%", c.m, 100*f.err(), 100*c.want)
		}
		for k, bk := range f.Buckets {
			if e := f.bucketErr(k); math.Abs(e) > c.buckets[k] {
				t.Errorf("%s: customers with %d repeat purchase days: predicted %.0f, actual %.0f (%+.0f%%, bound %.0f%%)",
					c.m, k, bk.Predicted, bk.Actual, 100*e, 100*c.buckets[k])
			}
		}
	}
	checkCalibrationChart(t, all)
	if d, bg := errs[DefaultCountModel], errs[ModelBGNBD]; math.Abs(d) >= math.Abs(bg) {
		t.Errorf("the default %s forecasts %+.1f%%, no better than BG/NBD's %+.1f%%", DefaultCountModel, 100*d, 100*bg)
	}
}
