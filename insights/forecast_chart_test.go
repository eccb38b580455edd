package insights

import (
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

// updateDocs rewrites the docs' generated figures instead of checking them.
var updateDocs = flag.Bool("update-docs", false, "rewrite docs/forecast-calibration.svg from the CDNOW forecast")

// calibrationChart is the path of the chart in docs/intelligence.md.
const calibrationChart = "../docs/forecast-calibration.svg"

// checkCalibrationChart compares docs/forecast-calibration.svg with the
// chart of these forecasts (rewriting it with -update-docs), so the chart
// in the docs is the tested figures, never a stale picture.
func checkCalibrationChart(t *testing.T, fs []forecast) {
	t.Helper()
	want := calibrationSVG(fs)
	if *updateDocs {
		if err := os.WriteFile(calibrationChart, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(calibrationChart)
	if err != nil || string(got) != want {
		t.Errorf("%s is not the chart of this forecast (%v): go test ./insights -run TestForecastAccuracyOnCDNOW -update-docs", calibrationChart, err)
	}
}

// calibrationSVG draws, per calibration frequency bucket, the actual
// purchase days per customer over the holdout (grey) beside each model's
// forecast (one colour each, the default first): a grouped bar chart, SVG
// with no script, readable in a browser or on GitHub.
func calibrationSVG(fs []forecast) string {
	const (
		w, h                  = 760, 340
		left, right, top, bot = 48, 16, 40, 56
		barW                  = 14
	)
	colors := []string{"#1f6feb", "#d29922", "#8957e5"}
	top1 := 0.0
	for _, f := range fs {
		for _, k := range f.Buckets {
			top1 = math.Max(top1, math.Max(k.Predicted, k.Actual)/float64(k.Customers))
		}
	}
	top1 = math.Ceil(top1)
	plotH := float64(h - top - bot)
	y := func(v float64) float64 { return float64(h-bot) - v/top1*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">Purchase days per customer over the 39-week CDNOW holdout, by calibration repeat purchase days</text>`+"\n", left)
	for v := 0.0; v <= top1; v++ {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n",
			left, w-right, y(v), y(v), left-6, y(v)+4, v)
	}
	group := float64(w-left-right) / forecastBuckets
	for k := 0; k < forecastBuckets; k++ {
		x0 := float64(left) + group*float64(k) + (group-float64(barW*(len(fs)+1)))/2
		act := fs[0].Buckets[k].Actual / float64(fs[0].Buckets[k].Customers)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%d" height="%.1f" fill="#999"><title>actual %.2f</title></rect>`+"\n",
			x0, y(act), barW, y(0)-y(act), act)
		for i, f := range fs {
			v := f.Buckets[k].Predicted / float64(f.Buckets[k].Customers)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s %.2f</title></rect>`+"\n",
				x0+float64(barW*(i+1)), y(v), barW, y(0)-y(v), colors[i%len(colors)], f.models.Kind, v)
		}
		label := fmt.Sprint(k)
		if k == forecastBuckets-1 {
			label += "+"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">x=%s (%d)</text>`+"\n",
			float64(left)+group*(float64(k)+0.5), h-bot+16, label, fs[0].Buckets[k].Customers)
	}
	legend := []string{"actual"}
	for _, f := range fs {
		legend = append(legend, fmt.Sprintf("%s %+.1f%%", f.models.Kind, 100*f.err()))
	}
	for i, name := range legend {
		color := "#999"
		if i > 0 {
			color = colors[(i-1)%len(colors)]
		}
		x := left + 170*i
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			x, h-22, color, x+16, h-12, name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}
