package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// JourneyArm is one group of a journey's entries: the holdout, or the
// entered customers of one split arm ("" for those who took no split).
type JourneyArm struct {
	Holdout      bool   `db:"held"`
	Arm          string `db:"arm"`
	Entries      int64  `db:"entries"`
	Conversions  int64  `db:"conversions"`
	RevenueCents int64  `db:"revenue_cents"`
}

// JourneyStepCount is one step of a journey's funnel.
type JourneyStepCount struct {
	Step string `db:"step_id"`
	// Passed counts the entries that took the step (and went on or left).
	Passed int64 `db:"passed"`
	// Waiting counts the entries at the step now (waiting, or due).
	Waiting int64 `db:"-"`
	// Sent counts the step's ledger rows that reached sent; Feedback, what
	// providers reported about them.
	Sent     int64          `db:"-"`
	Feedback FeedbackCounts `db:"-"`
	// Converted counts the entries that took the step and converted.
	Converted    int64 `db:"converted"`
	RevenueCents int64 `db:"revenue_cents"`
}

// JourneyOutcomes is what JourneyOutcomesOf measured.
type JourneyOutcomes struct {
	Arms  []JourneyArm
	Steps map[string]*JourneyStepCount
	Exits map[string]int64 // done entries by exit reason
}

// journeyConvCTE is conv: each entry of the journey with the purchases its
// customer made from entry to the attribution window after it (an entry
// converts when it has one). Parameters: the journey id, the window in ms.
func (s *Store) journeyConvCTE() string {
	r := strings.NewReplacer("{PT}", s.epochMillis("p.occurred_at"), "{ET}", s.epochMillis("s.entered_at"))
	return r.Replace(`WITH conv AS (
	SELECT s.id AS state_id, COALESCE(SUM(p.amount_cents), 0) AS cents
	FROM journey_states s JOIN purchases p ON p.customer_id = s.customer_id
	WHERE s.journey_id = ? AND {PT} >= {ET} AND {PT} <= {ET} + ?
	GROUP BY s.id
)
`)
}

// JourneyOutcomesOf counts a journey: entries and conversions per arm
// (holdout, split arms), the funnel per step and the exits by reason. A
// purchase converts an entry when it happens from entry to window after.
func (s *Store) JourneyOutcomesOf(ctx context.Context, journeyID string, window time.Duration) (*JourneyOutcomes, error) {
	out := &JourneyOutcomes{Steps: map[string]*JourneyStepCount{}, Exits: map[string]int64{}}
	ms := window.Milliseconds()
	err := s.DB.SelectContext(ctx, &out.Arms, s.DB.Rebind(s.journeyConvCTE()+`SELECT
		CASE WHEN s.status = 'holdout' THEN 1 ELSE 0 END AS held, s.arm, COUNT(*) AS entries,
		COUNT(conv.state_id) AS conversions, COALESCE(SUM(conv.cents), 0) AS revenue_cents
		FROM journey_states s LEFT JOIN conv ON conv.state_id = s.id WHERE s.journey_id = ?
		GROUP BY CASE WHEN s.status = 'holdout' THEN 1 ELSE 0 END, s.arm ORDER BY 1, 2`), journeyID, ms, journeyID)
	if err != nil {
		return nil, fmt.Errorf("store: journey outcomes %s: %w", journeyID, err)
	}
	var steps []JourneyStepCount
	err = s.DB.SelectContext(ctx, &steps, s.DB.Rebind(s.journeyConvCTE()+`, taken AS (
		SELECT DISTINCT state_id, step_id FROM journey_steps WHERE journey_id = ?)
		SELECT t.step_id, COUNT(*) AS passed, COUNT(conv.state_id) AS converted, COALESCE(SUM(conv.cents), 0) AS revenue_cents
		FROM taken t LEFT JOIN conv ON conv.state_id = t.state_id GROUP BY t.step_id`), journeyID, ms, journeyID)
	if err != nil {
		return nil, fmt.Errorf("store: journey funnel %s: %w", journeyID, err)
	}
	for i := range steps {
		out.Steps[steps[i].Step] = &steps[i]
	}
	step := func(id string) *JourneyStepCount {
		if out.Steps[id] == nil {
			out.Steps[id] = &JourneyStepCount{Step: id}
		}
		return out.Steps[id]
	}
	var groups []struct {
		Key    string `db:"k"`
		Status string `db:"status"`
		N      int64  `db:"n"`
	}
	err = s.DB.SelectContext(ctx, &groups, s.DB.Rebind(`SELECT CASE WHEN status = 'done' THEN exit_reason ELSE step_id END AS k,
		status, COUNT(*) AS n FROM journey_states WHERE journey_id = ? AND status <> 'holdout'
		GROUP BY CASE WHEN status = 'done' THEN exit_reason ELSE step_id END, status`), journeyID)
	if err != nil {
		return nil, fmt.Errorf("store: journey states %s: %w", journeyID, err)
	}
	for _, g := range groups {
		if g.Status == string(JourneyDone) {
			out.Exits[g.Key] += g.N
		} else {
			step(g.Key).Waiting += g.N
		}
	}
	var sends []struct {
		Occurrence string       `db:"occurrence"`
		Feedback   FeedbackType `db:"feedback"`
	}
	if err := s.DB.SelectContext(ctx, &sends, s.DB.Rebind(`SELECT occurrence, feedback FROM deliveries
		WHERE campaign_id = ? AND status = 'sent'`), journeyID); err != nil {
		return nil, fmt.Errorf("store: journey sends %s: %w", journeyID, err)
	}
	for _, sd := range sends {
		if id, ok := journeyStepOf(sd.Occurrence); ok {
			st := step(id)
			st.Sent++
			st.Feedback.add(sd.Feedback)
		}
	}
	return out, nil
}

// journeyStepOf reads the step of a journey delivery's occurrence
// (<occurrence>/<step>#<n>).
func journeyStepOf(occ string) (string, bool) {
	i, j := strings.LastIndex(occ, "/"), strings.LastIndex(occ, "#")
	if i < 0 || j <= i {
		return "", false
	}
	return occ[i+1 : j], true
}

// JourneyStepEngagement counts a journey's opens and clicks per send step,
// as CampaignEngagement does per arm (the Variant of each is "").
func (s *Store) JourneyStepEngagement(ctx context.Context, journeyID string) (map[string]ArmEngagement, error) {
	var rows []struct {
		Occurrence    string `db:"occurrence"`
		Opens         int64  `db:"opens"`
		MachineOpens  int64  `db:"machine_opens"`
		Clicks        int64  `db:"clicks"`
		MachineClicks int64  `db:"machine_clicks"`
		Honeypot      bool   `db:"honeypot"`
	}
	err := s.DB.SelectContext(ctx, &rows, s.DB.Rebind(`SELECT d.occurrence, e.opens, e.machine_opens, e.clicks,
		e.machine_clicks, CASE WHEN e.honeypot_at IS NULL THEN false ELSE true END AS honeypot
		FROM delivery_engagement e JOIN deliveries d ON d.id = e.delivery_id
		WHERE e.campaign_id = ? AND d.status <> 'holdout'`), journeyID)
	if err != nil {
		return nil, fmt.Errorf("store: journey engagement %s: %w", journeyID, err)
	}
	out := map[string]ArmEngagement{}
	for _, r := range rows {
		id, ok := journeyStepOf(r.Occurrence)
		if !ok {
			continue
		}
		a := out[id]
		a.Add(engagementOf(r.Opens, r.MachineOpens, r.Clicks, r.MachineClicks, r.Honeypot))
		out[id] = a
	}
	return out, nil
}

// engagementOf is one delivery's row counted as CampaignEngagement counts:
// a followed honeypot makes all its clicks a machine's.
func engagementOf(opens, machineOpens, clicks, machineClicks int64, honeypot bool) ArmEngagement {
	var a ArmEngagement
	if opens > 0 {
		a.Opened = 1
	}
	if machineOpens > 0 {
		a.MachineOpened = 1
	}
	if clicks > 0 && !honeypot {
		a.Clicked, a.Clicks = 1, clicks
	}
	if machineClicks > 0 || honeypot {
		a.MachineClicked = 1
	}
	return a
}
