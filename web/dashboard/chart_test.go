package dashboard

import (
	"math"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/worker"
)

func TestNiceScale(t *testing.T) {
	cases := []struct {
		v         float64
		top, step float64
	}{
		{0, 1, 1},
		{3, 3, 1},
		{7, 8, 2},
		{120, 150, 50},
		{1000, 1000, 500}, // 1000/4 = 250 -> step 500
		{9, 10, 5},
	}
	for _, c := range cases {
		top, step := niceScale(c.v, 4)
		if top != c.top || step != c.step {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", c.v, top, step, c.top, c.step)
		}
		if top < c.v {
			t.Errorf("niceScale(%v): top %v is below the data", c.v, top)
		}
	}
}

// TestDailyChartGeometry checks the bars and the line say what the data
// says: days without activity are filled in as zeros, a bar's height is
// proportional to the day's sends, the conversions line goes through one
// point per day, and the tallest bar reaches no higher than the axis top.
func TestDailyChartGeometry(t *testing.T) {
	pts := []worker.DayPoint{
		{Day: "2026-11-27", Sent: 100, Conversions: 2},
		{Day: "2026-11-29", Sent: 50, Conversions: 6}, // 11-28 is missing
		{Day: "2026-11-30", Sent: 0, Conversions: 3},
	}
	c := newDailyChart(pts)
	if c.Days != 4 || len(c.Bars) != 4 || len(c.Dots) != 4 {
		t.Fatalf("days %d bars %d dots %d, want 4 each (a gap day filled in)", c.Days, len(c.Bars), len(c.Dots))
	}
	if c.Bars[1].H != 0 || !strings.Contains(c.Bars[1].Title, "2026-11-28: 0 sent, 0 conversions") {
		t.Errorf("gap day bar = %+v", c.Bars[1])
	}
	if math.Abs(c.Bars[0].H-2*c.Bars[2].H) > 1e-9 {
		t.Errorf("bar heights %v and %v are not in the ratio 100:50", c.Bars[0].H, c.Bars[2].H)
	}
	for _, b := range c.Bars {
		if b.Y < c.Top-1e-9 || b.Y+b.H > c.Base+1e-9 || b.X < c.Left || b.X+b.W > c.Right {
			t.Errorf("bar %+v leaves the plot area", b)
		}
	}
	if got := len(strings.Fields(c.Line)); got != 4 {
		t.Errorf("line has %d points, want 4", got)
	}
	// The highest conversion day has the highest (smallest y) dot.
	if !(c.Dots[2].Y < c.Dots[3].Y && c.Dots[3].Y < c.Dots[0].Y && c.Dots[0].Y < c.Dots[1].Y) {
		t.Errorf("dot heights do not follow conversions 2,0,6,3: %+v", c.Dots)
	}
	if c.SendTicks[0].Label != "0" || c.ConvTicks[len(c.ConvTicks)-1].Label == "0" {
		t.Errorf("axis ticks %+v / %+v", c.SendTicks, c.ConvTicks)
	}
	if newDailyChart(nil) != nil {
		t.Error("an empty series should draw no chart")
	}
}

// TestLiftChartGeometry checks the zero line sits between a negative low and
// a positive high, the whiskers span the interval, the bar runs from zero to
// the estimate, and the colour says whether the interval excludes zero.
func TestLiftChartGeometry(t *testing.T) {
	up := &worker.Lift{Diff: 0.04, Low: 0.02, High: 0.06, Significant: true}
	none := &worker.Lift{Diff: 0.01, Low: -0.015, High: 0.035}
	c := newLiftChart([]armLift{{"A", up}, {"B", none}})
	if len(c.Rows) != 2 {
		t.Fatalf("rows = %d", len(c.Rows))
	}
	a, b := c.Rows[0], c.Rows[1]
	if !(b.LowX < c.ZeroX && c.ZeroX < b.HighX) {
		t.Errorf("B's interval [%v, %v] should straddle zero at %v", b.LowX, b.HighX, c.ZeroX)
	}
	if !(c.ZeroX < a.LowX && a.LowX < a.HighX) {
		t.Errorf("A's interval [%v, %v] should lie right of zero at %v", a.LowX, a.HighX, c.ZeroX)
	}
	if math.Abs(a.BarX-c.ZeroX) > 1e-9 || math.Abs((a.BarX+a.BarW)-(a.LowX+a.HighX)/2) > 1e-6 {
		t.Errorf("A's bar %v..%v should run from zero to the estimate", a.BarX, a.BarX+a.BarW)
	}
	if a.Color != colorLiftUp || b.Color != colorLiftNone {
		t.Errorf("colours %s %s", a.Color, b.Color)
	}
	if a.Diff != "+4.00 pp" || b.Low != "-1.50 pp" {
		t.Errorf("labels %q %q", a.Diff, b.Low)
	}
	if c.Ticks[0].Pos > c.Left+1e-9 || c.Ticks[len(c.Ticks)-1].Pos < c.Right-1e-9 {
		t.Errorf("ticks %+v do not span the axis %v..%v", c.Ticks, c.Left, c.Right)
	}
	var zero bool
	for _, tk := range c.Ticks {
		zero = zero || tk.Label == "0"
	}
	if !zero {
		t.Errorf("no 0 tick in %+v", c.Ticks)
	}
	if newLiftChart(nil) != nil {
		t.Error("no lift should draw no chart")
	}
}

// TestNPSChartGeometry: weeks without an NPS are left out, the axis runs
// from -100 (bottom) to +100 (top) with 0 in the middle, and each week's
// whiskers span its interval around its dot.
func TestNPSChartGeometry(t *testing.T) {
	if newNPSChart(nil) != nil {
		t.Error("no weeks: want no chart")
	}
	weeks := []worker.SurveyWeek{
		{Week: "2026-11-23", SurveyReport: worker.SurveyReport{Responses: 10, NPS: &insights.NPS{Score: 20, Low: -10, High: 50}}},
		{Week: "2026-11-30", SurveyReport: worker.SurveyReport{Responses: 0}},
		{Week: "2026-12-07", SurveyReport: worker.SurveyReport{Responses: 4, NPS: &insights.NPS{Score: -100, Low: -100, High: -40}}},
	}
	c := newNPSChart(weeks)
	if c == nil || len(c.Points) != 2 {
		t.Fatalf("chart: %+v, want two points", c)
	}
	if mid := (c.Top + c.Base) / 2; c.ZeroY != mid {
		t.Errorf("zero at y %.1f, want the middle %.1f", c.ZeroY, mid)
	}
	p, q := c.Points[0], c.Points[1]
	if !(p.HighY < p.Y && p.Y < p.LowY) || q.Y != c.Base || !(q.HighY < q.Y) {
		t.Errorf("points %+v %+v: whiskers must span the interval around the dot, -100 on the base line", p, q)
	}
	if !strings.Contains(p.Title, "NPS +20") || !strings.Contains(p.Title, "-10 to +50") {
		t.Errorf("title %q", p.Title)
	}
}
