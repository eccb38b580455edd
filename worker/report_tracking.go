package worker

import (
	"context"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// TrackingReport is what a tracked campaign's emails did once delivered
// (campaigns.Tracking): per arm, how many deliveries people opened and
// clicked, and apart how many machines did (Apple Mail Privacy
// Protection's prefetch, link scanners; docs/reporting.md).
type TrackingReport struct {
	Opens  bool         `json:"opens"`  // the campaign tracks opens now
	Clicks bool         `json:"clicks"` // and clicks
	Arms   []TrackedArm `json:"arms"`   // the report's arms, then "treated"
	// Steps are a journey's send steps ("step <id>"), in file order.
	Steps []TrackedArm `json:"steps,omitempty"`
}

// TrackedArm is one arm's opens and clicks. Opened, Clicked and their
// machine counterparts count deliveries (one may be in both); Clicks counts
// every human click; the rates are over the arm's sent messages.
type TrackedArm struct {
	Arm            string  `json:"arm"`
	Sent           int64   `json:"sent"`
	Opened         int64   `json:"opened"`
	OpenRate       float64 `json:"open_rate"`
	MachineOpened  int64   `json:"machine_opened"`
	Clicked        int64   `json:"clicked"`
	ClickRate      float64 `json:"click_rate"`
	MachineClicked int64   `json:"machine_clicked"`
	Clicks         int64   `json:"clicks"`
}

// trackingReport reads the campaign's opens and clicks for the report's
// arms; nil when the campaign tracks nothing and nothing was tracked.
func (e *Engine) trackingReport(ctx context.Context, rd *store.Store, c *campaigns.Campaign, r *Report) (*TrackingReport, error) {
	found, err := rd.CampaignEngagement(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 && !c.Tracking.Any() {
		return nil, nil
	}
	tr := &TrackingReport{Opens: c.Tracking.Opens, Clicks: c.Tracking.Clicks}
	var treated store.ArmEngagement
	for _, a := range found {
		if !a.Holdout {
			treated.Add(a)
		}
	}
	for _, arm := range append(append([]ArmReport{}, r.Arms...), r.Treated) {
		var got store.ArmEngagement
		switch arm.Arm {
		case "treated":
			got = treated
		case "holdout":
			continue // it receives nothing
		default:
			for _, a := range found {
				if !a.Holdout && (a.Variant == arm.Arm || (a.Variant == "" && arm.Arm == "all")) {
					got = a
				}
			}
		}
		tr.Arms = append(tr.Arms, trackedArm(arm.Arm, arm.Sent, got))
	}
	return tr, nil
}

// journeyTracking reads a journey's opens and clicks per send step, and
// for all its sends as the "treated" arm; nil when the journey tracks
// nothing and nothing was tracked.
func (e *Engine) journeyTracking(ctx context.Context, rd *store.Store, c *campaigns.Campaign, r *Report) (*TrackingReport, error) {
	found, err := rd.JourneyStepEngagement(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 && !c.Tracking.Any() {
		return nil, nil
	}
	tr := &TrackingReport{Opens: c.Tracking.Opens, Clicks: c.Tracking.Clicks}
	var all store.ArmEngagement
	for _, s := range r.Journey.Steps {
		if s.Kind != string(campaigns.StepSend) {
			continue
		}
		got := found[s.Step]
		all.Add(got)
		tr.Steps = append(tr.Steps, trackedArm("step "+s.Step, s.Sent, got))
	}
	tr.Arms = []TrackedArm{trackedArm("treated", r.Treated.Sent, all)}
	return tr, nil
}

func trackedArm(name string, sent int64, a store.ArmEngagement) TrackedArm {
	t := TrackedArm{Arm: name, Sent: sent, Opened: a.Opened, MachineOpened: a.MachineOpened, Clicked: a.Clicked,
		MachineClicked: a.MachineClicked, Clicks: a.Clicks}
	if sent > 0 {
		t.OpenRate = float64(a.Opened) / float64(sent)
		t.ClickRate = float64(a.Clicked) / float64(sent)
	}
	return t
}
