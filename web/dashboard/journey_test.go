package dashboard

import (
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/worker"
)

func journeyReport() *worker.JourneyReport {
	return &worker.JourneyReport{Entered: 90, Holdout: 10, Exits: map[string]int64{"purchase": 12, "completed": 70},
		Steps: []worker.JourneyStepReport{
			{Step: "first-email", Kind: "send", Passed: 90, Sent: 88, Converted: 9, Next: []string{"pause"}},
			{Step: "pause", Kind: "wait", Passed: 78, Waiting: 8, Next: []string{"pick"}},
			{Step: "pick", Kind: "branch", Passed: 78, Next: []string{"nudge", "last"}},
			{Step: "nudge", Kind: "send", Passed: 40, Sent: 40, Next: []string{"pick"}},
			{Step: "last", Kind: "send", Passed: 78, Sent: 70},
		}}
}

// TestJourneyGraphGeometry: one box per step in file order, a straight
// arrow to the step below, a curve on the right to any other.
func TestJourneyGraphGeometry(t *testing.T) {
	t.Parallel()
	g := newJourneyGraph(journeyReport())
	if len(g.Boxes) != 5 || g.Boxes[1].Y <= g.Boxes[0].Y+g.Boxes[0].H {
		t.Fatalf("boxes %+v: want 5, each below the previous", g.Boxes)
	}
	if !strings.Contains(g.Boxes[0].Counts, "sent 88") || strings.Contains(g.Boxes[1].Counts, "sent") ||
		!strings.Contains(g.Boxes[1].Counts, "waiting 8") {
		t.Errorf("counts %q / %q: send steps show sent, every step waiting", g.Boxes[0].Counts, g.Boxes[1].Counts)
	}
	var straight, curved int
	for _, e := range g.Edges {
		if strings.Contains(e.Path, " C") {
			curved++
		} else {
			straight++
		}
	}
	// first->pause, pause->pick, pick->nudge straight; pick->last and nudge->pick curved.
	if straight != 3 || curved != 2 || len(g.Edges) != 5 {
		t.Errorf("edges %v: want 3 straight and 2 curved", g.Edges)
	}
	if g.Width < boxX+boxW+2*edgeLane || newJourneyGraph(nil) != nil {
		t.Errorf("width %.1f leaves no room for the curves, or a campaign got a graph", g.Width)
	}
}

// TestCampaignPageShowsTheJourney: a journey's page has the graph and the
// funnel with its counts.
func TestCampaignPageShowsTheJourney(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, fixedSource{report: worker.Report{CampaignID: "spring", Name: "Spring sale",
		Journey: journeyReport()}})
	r := get(t, srv, "/dashboard/campaigns/spring", bearer(token))
	for _, want := range []string{`id="journey-graph"`, "first-email (send)", "passed 90 · sent 88",
		"90 entered, 10 held out", "completed 70", "purchase 12", `<td>nudge</td><td>send</td>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("journey page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(r.body)
	}
}

// TestCampaignPageShowsJourneyOpensAndClicksPerStep: a tracked journey's
// page lists its opens and clicks per send step under the treated row.
func TestCampaignPageShowsJourneyOpensAndClicksPerStep(t *testing.T) {
	t.Parallel()
	tr := &worker.TrackingReport{Opens: true, Clicks: true,
		Arms: []worker.TrackedArm{{Arm: "treated", Sent: 88, Opened: 40, OpenRate: 40.0 / 88, Clicked: 9, ClickRate: 9.0 / 88, Clicks: 11}},
		Steps: []worker.TrackedArm{{Arm: "step first-email", Sent: 88, Opened: 40, OpenRate: 40.0 / 88, MachineOpened: 12,
			Clicked: 9, ClickRate: 9.0 / 88, MachineClicked: 2, Clicks: 11}}}
	srv, _ := newServer(t, fixedSource{report: worker.Report{CampaignID: "spring", Name: "Spring sale",
		Journey: journeyReport(), Tracking: tr}})
	r := get(t, srv, "/dashboard/campaigns/spring", bearer(token))
	want := `<tr data-arm="step first-email"><td>step first-email</td><td class="num">88</td><td class="num">40</td><td class="num">45.45%</td><td class="num">12</td><td class="num">9</td><td class="num">10.23%</td><td class="num">2</td><td class="num">11</td></tr>`
	if !strings.Contains(r.body, want) || !strings.Contains(r.body, `<tr data-arm="treated">`) {
		t.Errorf("journey page lacks the step's opens and clicks %q:\n%s", want, r.body)
	}
}
