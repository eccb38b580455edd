package worker_test

import (
	"testing"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// TestJourneyReportOpensAndClicksPerStep: the opens and clicks recorded for
// a journey's messages are reported per send step, people and machines
// apart, and summed as the journey's treated arm, which matches the
// per-campaign count the campaigns' report uses.
func TestJourneyReportOpensAndClicksPerStep(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			w := newJourneyWorld(t, d, sequenceYAML, 2)
			w.enter(t, "seq", "run-1")
			w.sweep(t) // "hello" sent to both, who wait at "pause"
			var ids []int64
			if err := w.st.DB.Select(&ids, w.st.DB.Rebind(`SELECT d.id FROM deliveries d JOIN customers c ON c.id = d.customer_id
				WHERE d.campaign_id = 'seq' AND d.status = 'sent' ORDER BY c.external_id`)); err != nil || len(ids) != 2 {
				t.Fatalf("sent deliveries %v: %v", ids, err)
			}
			// c1 opened and clicked twice; c2's mail was prefetched and its
			// honeypot link followed by a scanner.
			hits := []store.EngagementHits{
				{DeliveryID: ids[0], Opens: 1, Clicks: 2, FirstOpen: w.t0, FirstClick: w.t0},
				{DeliveryID: ids[1], MachineOpens: 1, Clicks: 1, Honeypot: w.t0},
			}
			if _, err := w.st.RecordEngagement(w.ctx, hits, w.t0); err != nil {
				t.Fatal(err)
			}
			r, err := w.e.Report(w.ctx, "seq")
			if err != nil {
				t.Fatal(err)
			}
			if r.Tracking == nil || len(r.Tracking.Steps) != 2 || len(r.Tracking.Arms) != 1 {
				t.Fatalf("tracking %+v, want two send steps and the treated arm", r.Tracking)
			}
			hello := worker.TrackedArm{Arm: "step hello", Sent: 2, Opened: 1, OpenRate: 0.5, MachineOpened: 1,
				Clicked: 1, ClickRate: 0.5, MachineClicked: 1, Clicks: 2}
			if got := r.Tracking.Steps[0]; got != hello {
				t.Errorf("step hello %+v, want %+v", got, hello)
			}
			if got := r.Tracking.Steps[1]; got != (worker.TrackedArm{Arm: "step again"}) {
				t.Errorf("step again %+v, want nothing yet", got)
			}
			treated := r.Tracking.Arms[0]
			camp, err := w.st.CampaignEngagement(w.ctx, "seq")
			if err != nil || len(camp) != 1 {
				t.Fatalf("campaign engagement %+v %v", camp, err)
			}
			c := camp[0]
			if treated.Arm != "treated" || treated.Sent != 2 || treated.Opened != c.Opened || treated.MachineOpened != c.MachineOpened ||
				treated.Clicked != c.Clicked || treated.MachineClicked != c.MachineClicked || treated.Clicks != c.Clicks {
				t.Errorf("treated %+v, the campaign count says %+v", treated, c)
			}
		})
	}
}
