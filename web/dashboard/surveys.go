package dashboard

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/worker"
)

// Surveys is what the satisfaction page reads; *worker.Engine provides it.
type Surveys interface {
	SurveyOverview(ctx context.Context, from, to time.Time) (worker.SurveyOverview, error)
}

// surveyPeriod is how far back the satisfaction page looks.
const surveyPeriod = 26 * 7 * 24 * time.Hour

// ColorNPS is the NPS line and its intervals.
const ColorNPS = "#1e8e3e"

type surveysPage struct {
	worker.SurveyOverview
	Chart *npsChart
}

// surveys serves /dashboard/surveys: the NPS per week over the latest 26
// weeks with its 95% intervals, and the answers per campaign.
func (h *Handler) surveys(w http.ResponseWriter, r *http.Request) {
	if h.opts.Surveys == nil {
		h.problem(w, http.StatusNotFound, "No survey data", "This server does not read survey answers.")
		return
	}
	to := h.opts.Now().UTC()
	ov, err := h.opts.Surveys.SurveyOverview(r.Context(), to.Add(-surveyPeriod), to)
	if err != nil {
		h.opts.Logger.Error("dashboard: survey overview", "err", err)
		h.problem(w, http.StatusServiceUnavailable, "Surveys unavailable",
			"The survey answers could not be read. Check /readyz and the server log, then reload.")
		return
	}
	h.render(w, http.StatusOK, "surveys", surveysPage{SurveyOverview: ov, Chart: newNPSChart(ov.Weeks)})
}

// npsPoint is one week on the NPS chart: the score and its interval.
type npsPoint struct {
	X, Y, LowY, HighY float64
	Title             string
}

// npsChart draws the weekly NPS on a fixed -100..100 axis, each week a dot
// with whiskers over its 95% interval, joined by a line.
type npsChart struct {
	Width, Height          float64
	Left, Right, Top, Base float64
	ZeroY                  float64
	Points                 []npsPoint
	Line                   string
	YTicks, XTicks         []tick
	Color                  string
}

// newNPSChart lays out the weeks with an NPS; nil when there is none.
func newNPSChart(weeks []worker.SurveyWeek) *npsChart {
	var with []worker.SurveyWeek
	for _, w := range weeks {
		if w.NPS != nil {
			with = append(with, w)
		}
	}
	if len(with) == 0 {
		return nil
	}
	c := &npsChart{Width: 580, Height: 260, Left: 56, Right: 580 - 24, Top: 16, Base: 260 - 44, Color: ColorNPS}
	yOf := func(v float64) float64 { return c.Base - (v+100)/200*(c.Base-c.Top) }
	c.ZeroY = yOf(0)
	for v := -100.0; v <= 100; v += 50 {
		c.YTicks = append(c.YTicks, tick{yOf(v), fmt.Sprintf("%+.0f", v)})
	}
	c.YTicks[2].Label = "0"
	band := (c.Right - c.Left) / float64(len(with))
	every := (len(with) + 7) / 8
	var line []string
	for i, w := range with {
		x := c.Left + band*(float64(i)+0.5)
		n := w.NPS
		p := npsPoint{X: x, Y: yOf(n.Score), LowY: yOf(n.Low), HighY: yOf(n.High),
			Title: fmt.Sprintf("week of %s: NPS %+.0f (95%% interval %+.0f to %+.0f), %s answers", w.Week, n.Score,
				n.Low, n.High, Count(w.Responses))}
		c.Points = append(c.Points, p)
		line = append(line, fmt.Sprintf("%.1f,%.1f", x, p.Y))
		if i%every == 0 {
			c.XTicks = append(c.XTicks, tick{x, shortDay(w.Week)})
		}
	}
	c.Line = strings.Join(line, " ")
	return c
}

// NPSCell formats an NPS with its interval: "+32 (+14 to +48)"; "-" without
// answers.
func NPSCell(n *worker.SurveyReport) string {
	if n == nil || n.NPS == nil {
		return "-"
	}
	return fmt.Sprintf("%+.0f (%+.0f to %+.0f)", n.NPS.Score, math.Round(n.NPS.Low), math.Round(n.NPS.High))
}
