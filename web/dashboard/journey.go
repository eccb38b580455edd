package dashboard

import (
	"fmt"

	"github.com/tidings-crm/tidings/worker"
)

// journeyGraph draws a journey's steps as boxes in file order, each with its
// counts, and its edges: a straight arrow to the step below, a curve on the
// right to any other step.
type journeyGraph struct {
	Width, Height float64
	Boxes         []stepBox
	Edges         []stepEdge
}

type stepBox struct {
	X, Y, W, H float64
	Label      string // "first-email (send)"
	Counts     string // "passed 120 · sent 118 · waiting 0 · converted 9"
	Title      string
}

type stepEdge struct {
	Path string // SVG path data
}

// Journey graph geometry.
const (
	boxX, boxW, boxH, boxGap = 20.0, 420.0, 46.0, 26.0
	edgeLane                 = 14.0 // how far right of the boxes each further curve runs
)

// newJourneyGraph lays out a journey report; nil for a campaign.
func newJourneyGraph(j *worker.JourneyReport) *journeyGraph {
	if j == nil || len(j.Steps) == 0 {
		return nil
	}
	g := &journeyGraph{}
	row := map[string]int{}
	for i, s := range j.Steps {
		row[s.Step] = i
		y := boxGap/2 + float64(i)*(boxH+boxGap)
		counts := fmt.Sprintf("passed %s · waiting %s · converted %s", Count(s.Passed), Count(s.Waiting), Count(s.Converted))
		if s.Kind == "send" {
			counts = fmt.Sprintf("passed %s · sent %s · waiting %s · converted %s", Count(s.Passed), Count(s.Sent),
				Count(s.Waiting), Count(s.Converted))
		}
		g.Boxes = append(g.Boxes, stepBox{X: boxX, Y: y, W: boxW, H: boxH, Label: s.Step + " (" + s.Kind + ")",
			Counts: counts, Title: fmt.Sprintf("%s: revenue %.2f after entry", s.Step, s.Revenue)})
	}
	lanes := 0
	for i, s := range j.Steps {
		from := g.Boxes[i]
		for _, next := range s.Next {
			k, ok := row[next]
			if !ok {
				continue
			}
			to := g.Boxes[k]
			if k == i+1 {
				x := from.X + from.W/2
				g.Edges = append(g.Edges, stepEdge{fmt.Sprintf("M%.1f,%.1f L%.1f,%.1f", x, from.Y+from.H, x, to.Y-2)})
				continue
			}
			lanes++
			x := from.X + from.W + edgeLane*float64(lanes)
			y1, y2 := from.Y+from.H/2, to.Y+to.H/2
			g.Edges = append(g.Edges, stepEdge{fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f",
				from.X+from.W, y1, x, y1, x, y2, to.X+to.W+2, y2)})
		}
	}
	g.Width = boxX + boxW + edgeLane*float64(lanes+1) + 10
	g.Height = float64(len(j.Steps))*(boxH+boxGap) + boxGap/2
	return g
}
