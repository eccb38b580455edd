package worker

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
)

// AttributionLastTouch names the attribution model of every report: a
// purchase within a campaign's attribution window after its message counts
// for it only when no other campaign's message (or holdout row) came between
// (docs/reporting.md).
const AttributionLastTouch = "last-touch"

// Report measures a loaded campaign: per variant and holdout what was sent
// and who converted, the lift of the treated arms over the holdout and its
// verdict, and the daily series. An unknown campaign is an error wrapping
// store.ErrNotFound. It reads from the read replica when there is one
// (store.Read): a report a few seconds behind is still the report.
func (e *Engine) Report(ctx context.Context, campaignID string) (Report, error) {
	c, ok := e.Campaign(campaignID)
	if !ok {
		return Report{}, fmt.Errorf("report: no campaign %q is loaded: %w", campaignID, store.ErrNotFound)
	}
	var r Report
	err := e.st.Read(ctx, func(rd *store.Store) error {
		var err error
		if r, err = e.report(ctx, rd, c); err != nil {
			return err
		}
		if r.Surveys, err = e.surveyReports(ctx, rd, campaignID); err != nil {
			return fmt.Errorf("report %s: surveys: %w", campaignID, err)
		}
		return nil
	})
	return r, err
}

// report is Report without the survey answers, read from rd.
func (e *Engine) report(ctx context.Context, rd *store.Store, c *campaigns.Campaign) (Report, error) {
	reasons, err := rd.PauseReasons(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("report %s: %w", c.ID, err)
	}
	if c.Journey != nil {
		r := Report{CampaignID: c.ID, Name: c.Name, GeneratedAt: e.now().UTC(), Attribution: "entry",
			AttributionWindow: campaigns.FormatDuration(c.AttributionWindow), Daily: []DayPoint{}, Paused: reasons[c.ID]}
		if err := e.journeyReport(ctx, rd, c, &r); err != nil {
			return r, err
		}
		if r.Tracking, err = e.journeyTracking(ctx, rd, c, &r); err != nil {
			return Report{}, fmt.Errorf("report %s: %w", c.ID, err)
		}
		return r, nil
	}
	out, err := rd.CampaignOutcomes(ctx, c.ID, c.AttributionWindow)
	if err != nil {
		return Report{}, fmt.Errorf("report %s: %w", c.ID, err)
	}
	r := Report{
		CampaignID:        c.ID,
		Name:              c.Name,
		GeneratedAt:       e.now().UTC(),
		AttributionWindow: campaigns.FormatDuration(c.AttributionWindow),
		Attribution:       AttributionLastTouch,
		Treated:           armReport("treated", out.Treated),
		Daily:             dailySeries(out.Daily),
		Paused:            reasons[c.ID],
	}
	var holdout *store.ArmOutcome
	for i, a := range out.Arms {
		if a.Holdout {
			holdout = &out.Arms[i]
		}
	}
	for _, a := range reportArms(c, out.Arms) {
		ar := armReport(armName(a), a)
		if holdout != nil && !a.Holdout {
			ar.Lift = liftOver(a, *holdout)
		}
		r.Arms = append(r.Arms, ar)
	}
	if holdout != nil {
		r.Lift = liftOver(out.Treated, *holdout)
		r.Treated.Lift = r.Lift
	}
	r.Verdict = verdict(c, out.Treated, holdout, r.Lift)
	if r.Tracking, err = e.trackingReport(ctx, rd, c, &r); err != nil {
		return Report{}, fmt.Errorf("report %s: %w", c.ID, err)
	}
	return r, nil
}

// reportArms lists the arms in the campaign's order: its variants (or "all"),
// variants found in the ledger but no longer configured, then the holdout.
// Configured arms without rows yet are shown with zeros.
func reportArms(c *campaigns.Campaign, found []store.ArmOutcome) []store.ArmOutcome {
	want := []string{""}
	if len(c.Variants) > 0 {
		want = want[:0]
		for _, v := range c.Variants {
			want = append(want, v.ID)
		}
	}
	var arms []store.ArmOutcome
	for _, id := range want {
		arm := store.ArmOutcome{Variant: id}
		for _, a := range found {
			if !a.Holdout && a.Variant == id {
				arm = a
			}
		}
		arms = append(arms, arm)
	}
	for _, a := range found {
		if !a.Holdout && !slices.Contains(want, a.Variant) {
			arms = append(arms, a)
		}
	}
	for _, a := range found {
		if a.Holdout {
			return append(arms, a)
		}
	}
	if c.Holdout > 0 {
		arms = append(arms, store.ArmOutcome{Holdout: true})
	}
	return arms
}

func armName(a store.ArmOutcome) string {
	switch {
	case a.Holdout:
		return "holdout"
	case a.Variant == "":
		return "all"
	}
	return a.Variant
}

func armReport(name string, a store.ArmOutcome) ArmReport {
	r := ArmReport{Arm: name, Audience: a.Audience, Sent: a.Sent, Delivered: a.Delivered, Failed: a.Failed,
		Expired: a.Expired, FeedbackCounts: a.Feedback, Conversions: a.Conversions, Revenue: float64(a.RevenueCents) / 100}
	if a.Audience > 0 {
		r.ConversionRate = float64(a.Conversions) / float64(a.Audience)
		r.RevenuePerRecipient = r.Revenue / float64(a.Audience)
	}
	return r
}

// liftOver compares an arm with the holdout; nil when either is empty or
// neither has a conversion yet: 0 of n against 0 of m has no variance, and
// its "interval" of 0.0 to 0.0 would read as proof of no effect.
func liftOver(a, holdout store.ArmOutcome) *Lift {
	if a.Conversions == 0 && holdout.Conversions == 0 {
		return nil
	}
	l, ok := insights.CompareProportions(a.Conversions, a.Audience, holdout.Conversions, holdout.Audience)
	if !ok {
		return nil
	}
	return &l
}

// verdict reads the lift, or says why there is none yet.
func verdict(c *campaigns.Campaign, treated store.ArmOutcome, holdout *store.ArmOutcome, l *Lift) string {
	switch {
	case holdout == nil && c.Holdout == 0:
		return insights.Verdict(nil)
	case holdout == nil || holdout.Audience == 0:
		return "no holdout members yet: lift can be measured once the campaign has run"
	case treated.Audience == 0:
		return "no treated customers yet: lift can be measured once the campaign has run"
	case treated.Conversions == 0 && holdout.Conversions == 0:
		return fmt.Sprintf("too early: no conversions yet in either arm (%d treated, %d held out); "+
			"lift can be judged once customers buy", treated.Audience, holdout.Audience)
	}
	v := insights.Verdict(l)
	switch {
	case holdout.Conversions == 0:
		v += "; rough: no held-out customer has converted yet"
	case treated.Conversions == 0:
		v += "; rough: no treated customer has converted yet"
	}
	return v
}

// dailySeries formats the days and fills the days between with zeros, so a
// chart's x axis is time.
func dailySeries(days []store.DayOutcome) []DayPoint {
	out := []DayPoint{}
	for i, d := range days {
		if i > 0 {
			for gap := days[i-1].Day.AddDate(0, 0, 1); gap.Before(d.Day); gap = gap.AddDate(0, 0, 1) {
				out = append(out, DayPoint{Day: gap.Format(time.DateOnly)})
			}
		}
		out = append(out, DayPoint{Day: d.Day.Format(time.DateOnly), Sent: d.Sent, Conversions: d.Conversions})
	}
	return out
}
