package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// BounceWindow is how long after a send a hard bounce recorded for the same
// customer and channel still counts as that message bouncing: asynchronous
// bounces (DSNs) arrive within minutes to a few days. A hard bounce later than
// that is taken to be about another message.
const BounceWindow = 72 * time.Hour

// ArmOutcome is what one arm of a campaign reached: a variant, the holdout,
// or every treated arm pooled. Audience and Conversions count customers;
// Sent, Delivered and Failed count messages (a recurring campaign may send a
// customer several).
type ArmOutcome struct {
	Holdout bool
	Variant string // "" for a campaign without variants, the holdout and the pool
	// Audience is every customer with a ledger row in the arm, whatever its
	// outcome (intent to treat: the holdout is drawn before consent, caps and
	// suppressions, so customers the campaign could not reach stay in both
	// sides of the comparison).
	Audience int64
	// Sent messages were accepted by the provider; Delivered are the sent
	// ones no provider reported bounced or undelivered, and for which no
	// hard bounce of that customer on that channel was recorded within
	// BounceWindow after the send; Failed were refused or
	// ran out of attempts; Expired could not go out by their late deadline
	// (the campaign's late policy) and were never sent.
	Sent, Delivered, Failed, Expired int64
	// Feedback counts what providers reported about the sent messages
	// (docs/deliverability.md); Delivered also leaves out the bounced ones.
	Feedback FeedbackCounts
	// Conversions counts customers with at least one purchase attributed to
	// the arm; RevenueCents sums those purchases.
	Conversions  int64
	RevenueCents int64
}

// DayOutcome is one UTC day of a campaign: messages sent that day and treated
// customers whose first attributed purchase fell on it (the holdout is the
// baseline, not charted).
type DayOutcome struct {
	Day         time.Time // midnight UTC
	Sent        int64
	Conversions int64
}

// Outcomes is what CampaignOutcomes measured.
type Outcomes struct {
	Arms    []ArmOutcome // variants by id, then the holdout
	Treated ArmOutcome   // every non-holdout row pooled
	Daily   []DayOutcome // days with a send or a conversion, oldest first
}

// CampaignOutcomes counts a campaign's ledger and attributes purchases to it.
//
// A ledger row "touches" its customer at its send time (sent_at) or, for a
// row never sent (the holdout, suppressed, capped, still waiting), at its
// would-be send time (not_before, else created_at). A purchase converts for
// the row when it happens after the touch and at most window later, and no
// other touch of the customer came between them: last-touch across
// campaigns, where the touches that take credit are messages sent and
// holdout rows, of any campaign. Counting other campaigns' holdout rows keeps
// the comparison fair: they take credit from the treated and the holdout of
// this campaign alike. docs/reporting.md explains the model.
func (s *Store) CampaignOutcomes(ctx context.Context, campaignID string, window time.Duration) (*Outcomes, error) {
	if window <= 0 {
		return nil, fmt.Errorf("store: campaign outcomes %s: attribution window must be positive, got %s", campaignID, window)
	}
	out := &Outcomes{}
	arms, err := s.armOutcomes(ctx, campaignID, window, false)
	if err != nil {
		return nil, fmt.Errorf("store: campaign outcomes %s: %w", campaignID, err)
	}
	out.Arms = arms
	pooled, err := s.armOutcomes(ctx, campaignID, window, true)
	if err != nil {
		return nil, fmt.Errorf("store: campaign outcomes %s: %w", campaignID, err)
	}
	for _, a := range pooled {
		if !a.Holdout {
			out.Treated = a
		}
	}
	if out.Daily, err = s.dailyOutcomes(ctx, campaignID, window); err != nil {
		return nil, fmt.Errorf("store: campaign outcomes %s: %w", campaignID, err)
	}
	return out, nil
}

// epochMillis is the SQL for a timestamp column as integer milliseconds since
// 1970 UTC: exact integer arithmetic on both databases (SQLite's julianday
// keeps milliseconds, the rounding undoes the float).
func (s *Store) epochMillis(col string) string {
	if s.Dialect == SQLite {
		return "CAST(ROUND((julianday(" + col + ") - 2440587.5) * 86400000.0) AS INTEGER)"
	}
	return "CAST(FLOOR(EXTRACT(EPOCH FROM " + col + ") * 1000) AS BIGINT)"
}

// attributionCTE is the common part of the outcome queries: d, the
// campaign's rows with their arm and touch time, and conv, each (arm,
// customer, purchase) the attribution credits. Its parameters are the
// campaign id and the window in milliseconds. pooled puts every treated row
// in one arm.
func (s *Store) attributionCTE(pooled bool) string {
	variant := "CASE WHEN status = 'holdout' THEN '' ELSE variant END"
	if pooled {
		variant = "''"
	}
	touch := func(alias string) string {
		return s.epochMillis("COALESCE(" + alias + "sent_at, " + alias + "not_before, " + alias + "created_at)")
	}
	r := strings.NewReplacer("{VARIANT}", variant, "{T}", touch(""), "{OT}", touch("o."), "{PT}", s.epochMillis("p.occurred_at"))
	return r.Replace(`WITH d AS (
	SELECT id, customer_id, status, channel, sent_at, feedback,
		CASE WHEN status = 'holdout' THEN 1 ELSE 0 END AS held,
		{VARIANT} AS variant,
		{T} AS t
	FROM deliveries WHERE campaign_id = ?
), conv AS (
	SELECT DISTINCT d.held, d.variant, d.customer_id, p.id AS purchase_id, p.amount_cents, {PT} AS pt
	FROM d JOIN purchases p ON p.customer_id = d.customer_id
	WHERE {PT} > d.t AND {PT} <= d.t + ?
	AND NOT EXISTS (
		SELECT 1 FROM deliveries o
		WHERE o.customer_id = d.customer_id AND o.id <> d.id AND o.status IN ('sent', 'holdout')
		AND {OT} < {PT} AND ({OT} > d.t OR ({OT} = d.t AND o.id > d.id))
	)
)
`)
}

func (s *Store) armOutcomes(ctx context.Context, campaignID string, window time.Duration, pooled bool) ([]ArmOutcome, error) {
	r := strings.NewReplacer("{SENT}", s.epochMillis("d.sent_at"), "{BOUNCED}", s.epochMillis("b.created_at"))
	q := s.attributionCTE(pooled) + r.Replace(`, aud AS (
	SELECT held, variant, COUNT(DISTINCT customer_id) AS audience,
		SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS sent,
		SUM(CASE WHEN status = 'sent' AND feedback NOT IN ('hard_bounce', 'soft_bounce', 'undelivered') AND NOT EXISTS (
			SELECT 1 FROM suppressions b
			WHERE b.customer_id = d.customer_id AND b.channel = d.channel AND b.reason = 'hard_bounce'
			AND {BOUNCED} >= {SENT} AND {BOUNCED} <= {SENT} + ?
		) THEN 1 ELSE 0 END) AS delivered,
		SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
		SUM(CASE WHEN status = 'expired' THEN 1 ELSE 0 END) AS expired,
		`+feedbackSums+`
	FROM d GROUP BY held, variant
), cv AS (
	SELECT held, variant, COUNT(DISTINCT customer_id) AS conversions, SUM(amount_cents) AS revenue
	FROM conv GROUP BY held, variant
)
SELECT aud.held, aud.variant, aud.audience,
	CAST(aud.sent AS BIGINT), CAST(aud.delivered AS BIGINT), CAST(aud.failed AS BIGINT), CAST(aud.expired AS BIGINT),
	CAST(aud.hard AS BIGINT), CAST(aud.soft AS BIGINT), CAST(aud.complained AS BIGINT), CAST(aud.confirmed AS BIGINT),
	CAST(COALESCE(cv.conversions, 0) AS BIGINT), CAST(COALESCE(cv.revenue, 0) AS BIGINT)
FROM aud LEFT JOIN cv ON cv.held = aud.held AND cv.variant = aud.variant
ORDER BY aud.held, aud.variant`)
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(q), campaignID, window.Milliseconds(), BounceWindow.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("arms: %w", err)
	}
	defer rows.Close()
	var out []ArmOutcome
	for rows.Next() {
		var a ArmOutcome
		var held int64
		fb := &a.Feedback
		if err := rows.Scan(&held, &a.Variant, &a.Audience, &a.Sent, &a.Delivered, &a.Failed, &a.Expired,
			&fb.HardBounced, &fb.SoftBounced, &fb.Complained, &fb.Confirmed, &a.Conversions, &a.RevenueCents); err != nil {
			return nil, fmt.Errorf("arms: %w", err)
		}
		a.Holdout = held == 1
		out = append(out, a)
	}
	return out, rows.Err()
}

// dailyOutcomes counts sends per UTC day of sent_at, and treated customers
// per UTC day of their first attributed purchase.
func (s *Store) dailyOutcomes(ctx context.Context, campaignID string, window time.Duration) ([]DayOutcome, error) {
	const dayMillis = 86400000
	days := map[int64]*DayOutcome{}
	add := func(q string, args []any, conversions bool) error {
		rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(q), args...)
		if err != nil {
			return fmt.Errorf("daily: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var day, n int64
			if err := rows.Scan(&day, &n); err != nil {
				return fmt.Errorf("daily: %w", err)
			}
			p := days[day]
			if p == nil {
				p = &DayOutcome{Day: time.UnixMilli(day * dayMillis).UTC()}
				days[day] = p
			}
			if conversions {
				p.Conversions += n
			} else {
				p.Sent += n
			}
		}
		return rows.Err()
	}
	sends := fmt.Sprintf(`SELECT day, COUNT(*) FROM (SELECT %s / %d AS day FROM deliveries
		WHERE campaign_id = ? AND status = 'sent') s GROUP BY day`, s.epochMillis("sent_at"), dayMillis)
	if err := add(sends, []any{campaignID}, false); err != nil {
		return nil, err
	}
	convs := s.attributionCTE(true) + fmt.Sprintf(`SELECT day, COUNT(*) FROM (
		SELECT customer_id, MIN(pt) / %d AS day FROM conv WHERE held = 0 GROUP BY customer_id
	) f GROUP BY day`, dayMillis)
	if err := add(convs, []any{campaignID, window.Milliseconds()}, true); err != nil {
		return nil, err
	}
	out := make([]DayOutcome, 0, len(days))
	for _, p := range days {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day.Before(out[j].Day) })
	return out, nil
}

// FeedbackCounts counts a group of sent messages by what their providers
// reported (each message once, by the strongest report: docs/deliverability.md).
type FeedbackCounts struct {
	HardBounced int64 `json:"hard_bounced"`
	SoftBounced int64 `json:"soft_bounced"` // soft bounces, and SMS the carrier could not deliver
	Complained  int64 `json:"complained"`
	// Confirmed messages were reported delivered by the receiving server or
	// carrier (a complaint implies it); only providers that send delivery
	// receipts report it.
	Confirmed int64 `json:"confirmed"`
}

// Plus adds o's counts to c (steps of a journey into its total).
func (c *FeedbackCounts) Plus(o FeedbackCounts) {
	c.HardBounced += o.HardBounced
	c.SoftBounced += o.SoftBounced
	c.Complained += o.Complained
	c.Confirmed += o.Confirmed
}

// feedbackSums is the SQL of FeedbackCounts over rows with a feedback
// column: hard, soft, complained, confirmed.
const feedbackSums = `SUM(CASE WHEN feedback = 'hard_bounce' THEN 1 ELSE 0 END) AS hard,
		SUM(CASE WHEN feedback IN ('soft_bounce', 'undelivered') THEN 1 ELSE 0 END) AS soft,
		SUM(CASE WHEN feedback = 'complaint' THEN 1 ELSE 0 END) AS complained,
		SUM(CASE WHEN feedback IN ('delivered', 'complaint') THEN 1 ELSE 0 END) AS confirmed`
