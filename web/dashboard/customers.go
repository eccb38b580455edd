package dashboard

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
)

// CustomerSource is what the Customers page reads; *store.Store provides it.
type CustomerSource interface {
	CustomersOverview(ctx context.Context) (store.CustomersOverview, error)
}

// ColorCustomers fills the Customers page's bars; the RFM grid shades it
// by each cell's share of revenue.
const ColorCustomers = "#3b6fd1"

// hbarRow is one bar of a horizontal bar chart.
type hbarRow struct {
	Label, Value string
	Y, W         float64
	ID           string // the row's element id, for the browser test
}

// hbarChart is a horizontal bar chart of labelled counts.
type hbarChart struct {
	ID                    string
	Width, Height, Left   float64
	BarH                  float64
	Rows                  []hbarRow
	Color, Caption, Label string
}

// newHBarChart lays out counts (in order), each bar's length its share of
// the largest.
func newHBarChart(id, label, caption string, counts []store.NameCount) *hbarChart {
	const rowH, barH, left, width = 26, 18, 120, 560
	c := &hbarChart{ID: id, Width: width, Left: left, BarH: barH, Color: ColorCustomers, Caption: caption, Label: label,
		Height: float64(rowH*len(counts) + 24)}
	top := 1
	for _, n := range counts {
		top = max(top, n.Count)
	}
	for i, n := range counts {
		c.Rows = append(c.Rows, hbarRow{Label: n.Name, Value: Count(int64(n.Count)), Y: float64(rowH*i + 4),
			W: math.Max(float64(n.Count)/float64(top)*(width-left-90), 0), ID: id + "-" + n.Name})
	}
	return c
}

// gridCell is one RFM cell as drawn.
type gridCell struct {
	X, Y, Size     float64
	Customers      string
	Revenue        string
	Segment, Title string
	Opacity        float64
	ID             string
}

// rfmGrid is the 5 x 5 grid of recency (rows, 5 on top) by frequency
// (columns, 5 on the right), each cell shaded by its share of revenue.
type rfmGrid struct {
	Width, Height, Left, Top, Size float64
	Cells                          []gridCell
	Color                          string
	RLabels, FLabels               []tick
}

func newRFMGrid(g [5][5]store.GridCell) *rfmGrid {
	const size, left, top = 96, 70, 10
	c := &rfmGrid{Width: left + 5*size + 10, Height: top + 5*size + 44, Left: left, Top: top, Size: size, Color: ColorCustomers}
	var total, most int64
	for r := range 5 {
		for f := range 5 {
			total += max(g[r][f].RevenueCents, 0)
			most = max(most, g[r][f].RevenueCents)
		}
	}
	for r := 5; r >= 1; r-- {
		y := top + float64(5-r)*size
		c.RLabels = append(c.RLabels, tick{y + size/2, fmt.Sprintf("R %d", r)})
		for f := 1; f <= 5; f++ {
			cell := g[r-1][f-1]
			x := left + float64(f-1)*size
			share := 0.0
			if most > 0 {
				share = float64(max(cell.RevenueCents, 0)) / float64(most)
			}
			title := fmt.Sprintf("R %d, F %d: %s customers, %s revenue", r, f, Count(int64(cell.Customers)),
				Money(float64(cell.RevenueCents)/100))
			if total > 0 {
				title += fmt.Sprintf(" (%.1f%% of all)", 100*float64(cell.RevenueCents)/float64(total))
			}
			c.Cells = append(c.Cells, gridCell{X: x, Y: y, Size: size, Customers: Count(int64(cell.Customers)),
				Revenue: Money(float64(cell.RevenueCents) / 100), Segment: cell.Segment, Title: title,
				Opacity: 0.08 + 0.8*share, ID: fmt.Sprintf("rfm-%d%d", r, f)})
		}
	}
	for f := 1; f <= 5; f++ {
		c.FLabels = append(c.FLabels, tick{left + float64(f-1)*size + size/2, fmt.Sprintf("F %d", f)})
	}
	return c
}

type customersPage struct {
	store.CustomersOverview
	StageChart, PAliveChart, CLVChart, TierChart, ABCChart *hbarChart
	Grid                                                   *rfmGrid
	Calibration                                            *calibrationChart
}

// customers serves /dashboard/customers.
func (h *Handler) customers(w http.ResponseWriter, r *http.Request) {
	if h.opts.Customers == nil {
		h.problem(w, http.StatusNotFound, "No customer data", "This server does not read customer intelligence.")
		return
	}
	ov, err := h.opts.Customers.CustomersOverview(r.Context())
	if err != nil {
		h.opts.Logger.Error("dashboard: customers overview", "err", err)
		h.problem(w, http.StatusServiceUnavailable, "Customers unavailable",
			"The customer scores could not be read. Check /readyz and the server log, then reload.")
		return
	}
	p := customersPage{CustomersOverview: ov, Grid: newRFMGrid(ov.Grid)}
	p.StageChart = newHBarChart("stages", "lifecycle stage", "customers per lifecycle stage", stageOrder(ov.Stages))
	deciles := make([]store.NameCount, 10)
	for k, n := range ov.PAliveDeciles {
		deciles[k] = store.NameCount{Name: fmt.Sprintf("%.1f-%.1f", float64(k)/10, float64(k+1)/10), Count: n}
	}
	p.PAliveChart = newHBarChart("p-alive", "P(alive)", "buyers per P(alive) band", deciles)
	p.CLVChart = newHBarChart("clv", "CLV", "buyers per CLV band (currency units, 12 months)", ov.CLV)
	if len(ov.Tiers) > 0 {
		p.TierChart = newHBarChart("tiers", "tier", "customers per loyalty tier", ov.Tiers)
	}
	if len(ov.ABC) > 0 {
		p.ABCChart = newHBarChart("abc", "ABC class", "buyers per ABC class (A: top 80% of revenue, B: next 15%)", ov.ABC)
	}
	if c := ov.Calibration.Calibration; c != nil {
		p.Calibration = newCalibrationChart(c)
	}
	h.render(w, http.StatusOK, "customers", p)
}

// stageOrder lists the stages in lifecycle order, zeros included.
func stageOrder(counts []store.NameCount) []store.NameCount {
	out := make([]store.NameCount, 0, len(insights.Stages()))
	for _, s := range insights.Stages() {
		n := 0
		if i := slices.IndexFunc(counts, func(c store.NameCount) bool { return c.Name == s }); i >= 0 {
			n = counts[i].Count
		}
		out = append(out, store.NameCount{Name: s, Count: n})
	}
	return out
}

// ColorActual fills the calibration chart's bars of what happened.
const ColorActual = "#9aa0a6"

// calibrationBar is one bar of the calibration chart.
type calibrationBar struct {
	X, Y, W, H float64
	Fill, ID   string
	Title      string
}

// calibrationChart is the forecast check of the latest calibrating
// refresh: per frequency bucket, the actual purchase days per customer
// over the holdout beside the model's forecast, as docs/forecast-calibration.svg
// draws CDNOW's.
type calibrationChart struct {
	Width, Height, Left, Base float64
	Bars                      []calibrationBar
	YTicks, XLabels           []tick
	Summary                   string
	Color, ActualColor        string
}

// CalibrationTitle is the tooltip of one calibration bar: "x=2 (2,064
// customers): predicted 1.21 purchase days per customer".
func CalibrationTitle(b insights.CalibrationBucket, last bool, what string, v float64) string {
	label := fmt.Sprint(b.X)
	if last {
		label += "+"
	}
	return fmt.Sprintf("x=%s (%s customers): %s %.2f purchase days per customer", label, Count(int64(b.Customers)), what, v)
}

func newCalibrationChart(c *insights.Calibration) *calibrationChart {
	const width, height, left, top, bottom, barW = 620.0, 260.0, 44.0, 12.0, 40.0, 16.0
	ch := &calibrationChart{Width: width, Height: height, Left: left, Base: height - bottom, Color: ColorCustomers,
		ActualColor: ColorActual}
	most := 0.0
	for _, b := range c.Buckets {
		if b.Customers > 0 {
			most = math.Max(most, math.Max(b.Predicted, b.Actual)/float64(b.Customers))
		}
	}
	most = math.Max(math.Ceil(most), 1)
	y := func(v float64) float64 { return ch.Base - v/most*(ch.Base-top) }
	for v := 0.0; v <= most; v += math.Max(1, math.Ceil(most/5)) {
		ch.YTicks = append(ch.YTicks, tick{y(v), fmt.Sprint(v)})
	}
	group := (width - left - 8) / float64(len(c.Buckets))
	for k, b := range c.Buckets {
		x0 := left + group*float64(k) + group/2 - barW
		label := fmt.Sprintf("x=%d", b.X)
		last := k == len(c.Buckets)-1
		if last {
			label += "+"
		}
		ch.XLabels = append(ch.XLabels, tick{left + group*(float64(k)+0.5), label})
		if b.Customers == 0 {
			continue
		}
		for i, part := range []struct {
			what, fill string
			v          float64
		}{{"actual", ColorActual, b.Actual}, {"predicted", ColorCustomers, b.Predicted}} {
			v := part.v / float64(b.Customers)
			ch.Bars = append(ch.Bars, calibrationBar{X: x0 + barW*float64(i), Y: y(v), W: barW - 2, H: ch.Base - y(v),
				Fill: part.fill, ID: fmt.Sprintf("calibration-%d-%s", b.X, part.what), Title: CalibrationTitle(b, last, part.what, v)})
		}
	}
	ch.Summary = fmt.Sprintf("%s, fitted on the purchases up to %s: %s purchase days forecast for the %g weeks to %s, %s made (%+.1f%%), by the %s customers who had bought by then",
		c.Model, c.Cut.Format(time.DateOnly), Count(int64(math.Round(c.Predicted))), c.HoldoutWeeks, c.End.Format(time.DateOnly),
		Count(int64(math.Round(c.Actual))), 100*c.Error(), Count(int64(c.Customers)))
	return ch
}
