package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
)

// overviewSource serves one fixed overview to the Customers page.
type overviewSource struct{ ov store.CustomersOverview }

func (s overviewSource) CustomersOverview(context.Context) (store.CustomersOverview, error) {
	return s.ov, nil
}

// TestCustomersPageForecastCheck renders the Customers page with a stored
// forecast check, whose bars carry each bucket's figures per customer, and
// with only the refresh's note, which the page says instead of a chart.
func TestCustomersPageForecastCheck(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	cal := &insights.Calibration{Cut: at.AddDate(0, 0, -273), End: at, HoldoutWeeks: 39, Model: "Pareto/NBD r=0.6 alpha=11.6 s=0.52 beta=8.8",
		Customers: 300, Predicted: 150, Actual: 200}
	for k := range insights.CalibrationBuckets {
		cal.Buckets = append(cal.Buckets, insights.CalibrationBucket{X: k, Customers: 40 - 4*k, Predicted: float64(10 * k), Actual: float64(12 * k)})
	}
	for _, c := range []struct {
		rec  insights.CalibrationRecord
		want []string
	}{
		{insights.CalibrationRecord{Calibration: cal}, []string{`id="calibration-chart"`,
			`id="calibration-3-predicted"[^>]*><title>x=3 \(28 customers\): predicted 1.07 purchase days per customer</title>`,
			`id="calibration-7-actual"[^>]*><title>x=7(\+|&#43;) \(12 customers\): actual 7.00 purchase days per customer</title>`,
			`150 purchase days forecast for the 39 weeks to 2026-12-01, 200 made \(-25.0%\)`}},
		{insights.CalibrationRecord{Note: "not enough history yet: a 39-week check needs purchases from before 2025-06-03"},
			[]string{`id="no-calibration">No forecast check: not enough history yet: a 39-week check needs purchases from before 2025-06-03.`}},
	} {
		h, err := New(Options{Source: fixedSource{}, Token: token, Customers: overviewSource{store.CustomersOverview{At: at, Customers: 300,
			Calibration: c.rec}}})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/dashboard/customers", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		for _, re := range c.want {
			if !regexp.MustCompile(re).MatchString(rec.Body.String()) {
				t.Errorf("the Customers page lacks %s", re)
			}
		}
		if c.rec.Calibration == nil && strings.Contains(rec.Body.String(), "calibration-chart") {
			t.Error("a chart without a stored check")
		}
	}
}
