package dashboard

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/worker"
)

// The charts are drawn on the server as SVG: the page needs no script, no
// library and no network, and a screenshot shows exactly what a browser
// shows. These types hold the geometry; the templates only print it.

// Series colours, also used by the legend and checked by the browser test.
const (
	ColorSends       = "#3b6fd1"
	ColorConversions = "#e8710a"
	colorLiftUp      = "#1e8e3e"
	colorLiftDown    = "#c5221f"
	colorLiftNone    = "#80868b"
)

// maxFilledDays bounds the days a chart fills in between the first and last
// active day; a longer span is drawn with its active days only.
const maxFilledDays = 400

type tick struct {
	Pos   float64 // x for a horizontal axis, y for a vertical one
	Label string
}

type bar struct {
	X, Y, W, H float64
	Title      string
}

type dot struct {
	X, Y  float64
	Title string
}

// dailyChart is the sends (bars, left axis) and conversions (line, right
// axis) per UTC day.
type dailyChart struct {
	Width, Height          float64
	Left, Right, Top, Base float64 // the plot area
	Bars                   []bar
	Line                   string // polyline points
	Dots                   []dot
	XTicks                 []tick
	SendTicks, ConvTicks   []tick
	ColorSends, ColorConv  string
	Days                   int
}

// newDailyChart lays out the report's days. It returns nil when there is
// nothing to draw.
func newDailyChart(points []worker.DayPoint) *dailyChart {
	days := fillDays(points)
	if len(days) == 0 {
		return nil
	}
	c := &dailyChart{Width: 580, Height: 280, Left: 56, Right: 580 - 56, Top: 36, Base: 280 - 48,
		ColorSends: ColorSends, ColorConv: ColorConversions, Days: len(days)}
	var maxSent, maxConv int64
	for _, d := range days {
		maxSent = max(maxSent, d.Sent)
		maxConv = max(maxConv, d.Conversions)
	}
	sendTop, sendStep := niceScale(float64(maxSent), 4)
	convTop, convStep := niceScale(float64(maxConv), 4)
	plotH := c.Base - c.Top
	yOf := func(v, top float64) float64 { return c.Base - v/top*plotH }
	for v := 0.0; v <= sendTop+sendStep/2; v += sendStep {
		c.SendTicks = append(c.SendTicks, tick{yOf(v, sendTop), Count(int64(math.Round(v)))})
	}
	for v := 0.0; v <= convTop+convStep/2; v += convStep {
		c.ConvTicks = append(c.ConvTicks, tick{yOf(v, convTop), Count(int64(math.Round(v)))})
	}
	band := (c.Right - c.Left) / float64(len(days))
	barW := math.Max(1, band*0.6)
	every := (len(days) + 7) / 8 // at most about 8 day labels
	var line []string
	for i, d := range days {
		mid := c.Left + band*(float64(i)+0.5)
		title := fmt.Sprintf("%s: %s sent, %s conversions", d.Day, Count(d.Sent), Count(d.Conversions))
		y := yOf(float64(d.Sent), sendTop)
		c.Bars = append(c.Bars, bar{X: mid - barW/2, Y: y, W: barW, H: c.Base - y, Title: title})
		cy := yOf(float64(d.Conversions), convTop)
		line = append(line, fmt.Sprintf("%.1f,%.1f", mid, cy))
		c.Dots = append(c.Dots, dot{X: mid, Y: cy, Title: title})
		if i%every == 0 {
			c.XTicks = append(c.XTicks, tick{mid, shortDay(d.Day)})
		}
	}
	c.Line = strings.Join(line, " ")
	return c
}

// fillDays returns the days from the first to the last of points, with the
// days between that had no activity as zeros, so the x axis is time.
func fillDays(points []worker.DayPoint) []worker.DayPoint {
	if len(points) == 0 {
		return nil
	}
	first, err1 := time.Parse(time.DateOnly, points[0].Day)
	last, err2 := time.Parse(time.DateOnly, points[len(points)-1].Day)
	span := int(last.Sub(first).Hours()/24) + 1
	if err1 != nil || err2 != nil || span < len(points) || span > maxFilledDays {
		return points
	}
	byDay := make(map[string]worker.DayPoint, len(points))
	for _, p := range points {
		byDay[p.Day] = p
	}
	out := make([]worker.DayPoint, 0, span)
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		p, ok := byDay[key]
		if !ok {
			p = worker.DayPoint{Day: key}
		}
		out = append(out, p)
	}
	return out
}

func shortDay(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format("Jan 2")
}

// niceScale returns an axis top at or above v and a step of 1, 2 or 5 times
// a power of ten, giving about n steps. An empty series gets 0..1.
func niceScale(v float64, n int) (top, step float64) {
	if v <= 0 {
		return 1, 1
	}
	step = niceStep(v / float64(n))
	if step < 1 {
		step = 1 // counts are whole numbers
	}
	return math.Ceil(v/step) * step, step
}

func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// liftRow is one treated arm's lift over the holdout: a bar from 0 to the
// estimate and whiskers over the 95% interval.
type liftRow struct {
	Label          string
	Y              float64 // row centre
	BarX, BarW     float64
	LowX, HighX    float64
	Color          string
	Diff, Low, Hi  string // formatted
	Significant    bool
	Relative, PVal string
}

// liftChart draws every arm's lift on one percentage-point axis with 0
// marked, so a reader sees at a glance whether an interval crosses it.
type liftChart struct {
	Width, Height      float64
	Left, Right, ZeroX float64
	Top, Base          float64
	Rows               []liftRow
	Ticks              []tick
	ColorUp, ColorDown string
	ColorNone          string
}

type armLift struct {
	label string
	lift  *worker.Lift
}

// newLiftChart lays out the lifts; nil when there is none (no holdout).
func newLiftChart(arms []armLift) *liftChart {
	if len(arms) == 0 {
		return nil
	}
	lo, hi := 0.0, 0.0
	for _, a := range arms {
		lo = math.Min(lo, math.Min(a.lift.Low, a.lift.Diff))
		hi = math.Max(hi, math.Max(a.lift.High, a.lift.Diff))
	}
	// Work in percentage points; pad the domain and round it to ticks.
	lo, hi = lo*100, hi*100
	pad := math.Max((hi-lo)*0.05, 0.25)
	step := niceStep((hi - lo + 2*pad) / 5)
	lo = math.Floor((lo-pad)/step) * step
	hi = math.Ceil((hi+pad)/step) * step
	const rowH = 40
	c := &liftChart{Width: 580, Left: 100, Right: 580 - 20, Top: 12,
		ColorUp: colorLiftUp, ColorDown: colorLiftDown, ColorNone: colorLiftNone}
	c.Base = c.Top + rowH*float64(len(arms))
	c.Height = c.Base + 36
	xOf := func(pp float64) float64 { return c.Left + (pp-lo)/(hi-lo)*(c.Right-c.Left) }
	c.ZeroX = xOf(0)
	for v := lo; v <= hi+step/2; v += step {
		label := fmt.Sprintf("%+g", roundTo(v, step))
		if math.Abs(v) < step/2 {
			label = "0"
		}
		c.Ticks = append(c.Ticks, tick{xOf(v), label})
	}
	for i, a := range arms {
		l := a.lift
		r := liftRow{Label: a.label, Y: c.Top + rowH*(float64(i)+0.5),
			LowX: xOf(l.Low * 100), HighX: xOf(l.High * 100),
			Diff: Points(l.Diff), Low: Points(l.Low), Hi: Points(l.High), Significant: l.Significant,
			Relative: Relative(l.Relative), PVal: PValue(l.PValue), Color: colorLiftNone}
		d := xOf(l.Diff * 100)
		r.BarX, r.BarW = math.Min(d, c.ZeroX), math.Max(math.Abs(d-c.ZeroX), 1)
		switch {
		case l.Significant && l.Diff > 0:
			r.Color = colorLiftUp
		case l.Significant && l.Diff < 0:
			r.Color = colorLiftDown
		}
		c.Rows = append(c.Rows, r)
	}
	return c
}

// roundTo removes float noise from a tick value (0.30000000000000004).
func roundTo(v, step float64) float64 {
	decimals := math.Max(0, -math.Floor(math.Log10(step)))
	p := math.Pow(10, decimals)
	return math.Round(v*p) / p
}
