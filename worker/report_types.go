package worker

import (
	"time"

	"github.com/tidings-crm/tidings/insights"
)

// Report answers "did it work?" for one campaign: per variant and holdout,
// who was in the audience, what was sent, who bought within the attribution
// window, and the lift over the holdout with a 95% confidence interval.
// The admin API serves it at GET /v1/campaigns/{id}/report, `tidings report`
// prints it and the dashboard draws it.
type Report struct {
	CampaignID  string    `json:"campaign_id"`
	Name        string    `json:"name"`
	GeneratedAt time.Time `json:"generated_at"`
	// AttributionWindow is how long after a send (or a would-be send, for the
	// holdout) a purchase counts as a conversion, written as in campaign
	// files: "7d", "1d12h" (campaigns.ParseDuration reads it).
	AttributionWindow string `json:"attribution_window"`
	// Attribution names the model: "last-touch" (a purchase is credited to
	// the most recent campaign message before it, across campaigns).
	Attribution string `json:"attribution"`
	// Arms holds one row per variant ("" when the campaign has none, shown
	// as "all"), then "holdout" when the campaign keeps one.
	Arms []ArmReport `json:"arms"`
	// Treated pools every variant; Lift compares it with the holdout (nil
	// without a holdout, or while neither side has a conversion).
	Treated ArmReport `json:"treated"`
	Lift    *Lift     `json:"lift,omitempty"`
	// Verdict is the plain-language reading of Lift, e.g. "no evidence of
	// effect yet: need about 4,200 more recipients", or why there is
	// nothing to judge yet ("too early: no conversions yet in either arm").
	Verdict string `json:"verdict"`
	// Daily is the time series the dashboard charts: sends and conversions
	// per UTC day, oldest first.
	Daily []DayPoint `json:"daily"`
	// Journey is set for a journey: its funnel, exits and split arms. Its
	// Arms are then the entered customers ("all") and the holdout, whose
	// conversions count purchases within the window after entry.
	Journey *JourneyReport `json:"journey,omitempty"`
	// Tracking is set for a campaign with `tracking:` (or that had it):
	// opens and clicks per arm, people's and machines' apart.
	Tracking *TrackingReport `json:"tracking,omitempty"`
}

// ArmReport is one variant, the holdout, or the treated arms pooled.
type ArmReport struct {
	Arm         string `json:"arm"` // variant id, "all", "holdout" or "treated"
	Audience    int64  `json:"audience"`
	Sent        int64  `json:"sent"`
	Delivered   int64  `json:"delivered"`
	Failed      int64  `json:"failed"`
	Conversions int64  `json:"conversions"`
	// Expired messages could not go out by their late deadline (the
	// campaign's late policy) and were never sent.
	Expired int64 `json:"expired"`
	// ConversionRate is Conversions / Audience (recipients for variants,
	// members for the holdout).
	ConversionRate float64 `json:"conversion_rate"`
	Revenue        float64 `json:"revenue"`
	// RevenuePerRecipient is Revenue / Audience.
	RevenuePerRecipient float64 `json:"revenue_per_recipient"`
	// Lift of this arm over the holdout (nil for the holdout itself, when
	// there is none, or while neither has a conversion).
	Lift *Lift `json:"lift,omitempty"`
}

// Lift is the difference in conversion rate between a treated arm and the
// holdout with its 95% confidence interval; the statistics live in insights
// (insights.CompareProportions), the type is shared.
type Lift = insights.Lift

// DayPoint is one UTC day of a campaign's activity.
type DayPoint struct {
	Day         string `json:"day"` // 2006-01-02
	Sent        int64  `json:"sent"`
	Conversions int64  `json:"conversions"`
}
