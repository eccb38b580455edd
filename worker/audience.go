// Package worker runs campaigns: the asynq task types and handlers, the
// audience run that turns a campaign firing into ledger rows, the delivery
// pipeline that sends each row once, and the reconciler that repairs what
// Redis lost. Its lower layers are campaigns, rules, triggers, channels and
// store.
package worker

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
)

// FillEnv copies a customer row into a rule environment, keeping env's
// functions and clock. The environment is reused across a whole stream.
func FillEnv(env *rules.Env, c *store.Customer) {
	rules.ClearCustomer(env)
	env.ID = c.ID
	env.ExternalID = c.ExternalID
	env.Email = c.Email
	env.Phone = c.Phone
	env.FirstName = c.FirstName
	env.LastName = c.LastName
	env.Locale = c.Locale
	env.TimeZone = c.TimeZone
	env.Birthday = c.Birthday
	env.Tags = c.Tags
	env.Attributes = c.Attributes
	env.EmailConsent = c.EmailConsent
	env.SMSConsent = c.SMSConsent
	env.OrdersCount = c.OrdersCount
	env.TotalSpent = c.TotalSpent()
	if c.OrdersCount > 0 {
		env.AverageOrderValue = env.TotalSpent / float64(c.OrdersCount)
	}
	env.FirstPurchaseAt = c.FirstPurchaseAt
	env.LastPurchaseAt = c.LastPurchaseAt
	env.DaysSinceLastPurchase = -1
	if !c.LastPurchaseAt.IsZero() {
		env.DaysSinceLastPurchase = int(env.Now.Sub(c.LastPurchaseAt) / (24 * time.Hour))
	}
	env.AvgDaysBetweenPurchases = c.AvgDaysBetween
	env.RFM = rules.RFM{R: c.RFMR, F: c.RFMF, M: c.RFMM, Segment: c.RFMSegment}
	if c.RFMR > 0 {
		env.RFM.Score = rfmScore(c.RFMR, c.RFMF, c.RFMM)
	}
	env.Lifecycle = c.Lifecycle
	env.PAlive = c.PAlive
	env.ExpectedPurchases90d = c.ExpectedPurchases90d
	env.CLV = c.CLV
}

// AudienceOptions bounds an audience evaluation.
type AudienceOptions struct {
	Now        time.Time      // the evaluation clock
	DefaultLoc *time.Location // zone for customers without one
	AfterID    int64          // shard bounds: ids in (AfterID, UpToID]; 0 = unbounded
	UpToID     int64
	// Lean reads only the columns AudienceColumns names: match then sees a
	// customer with its id, addresses, consents and time zone, plus what the
	// trigger and the rule read; every other field is zero. Planning needs
	// no more, and skipping the rest is most of the cost of a stream.
	Lean bool
}

// AudienceStats counts what an evaluation saw.
type AudienceStats struct {
	Evaluated int           // customers read
	Matched   int           // due by the trigger and matching the rule
	Errors    int           // customers whose rule failed at run time (counted, skipped)
	Elapsed   time.Duration // wall time of the evaluation
}

// Audience streams the customers in range, keeps those the campaign is due
// for (trigger condition and audience rule) and calls match for each with the
// filled environment. match must not keep env past its return. Memory stays
// flat whatever the number of customers.
func Audience(ctx context.Context, st *store.Store, c *campaigns.Campaign, opts AudienceOptions,
	match func(env *rules.Env, cust *store.Customer) error) (AudienceStats, error) {
	var stats AudienceStats
	var cols []string
	if opts.Lean {
		cols = AudienceColumns(c)
	}
	started := time.Now()
	env := rules.NewEnv(opts.DefaultLoc)
	env.Now = opts.Now
	err := st.StreamCustomers(ctx, func(cust *store.Customer) error {
		stats.Evaluated++
		FillEnv(env, cust)
		due, err := triggers.Due(c, env, opts.DefaultLoc)
		if err == nil && due {
			due, err = c.Audience.Eval(env)
		}
		if err != nil {
			stats.Errors++
			return nil
		}
		if !due {
			return nil
		}
		stats.Matched++
		if match != nil {
			return match(env, cust)
		}
		return nil
	}, store.StreamOptions{AfterID: opts.AfterID, UpToID: opts.UpToID, Columns: cols})
	stats.Elapsed = time.Since(started)
	if err != nil {
		return stats, fmt.Errorf("audience %s: %w", c.ID, err)
	}
	return stats, nil
}

// rfmScores holds the score strings ("545") of every R, F, M from 0 to 5,
// so filling an environment does not format one per customer.
var rfmScores = func() (t [6][6][6]string) {
	for r := range 6 {
		for f := range 6 {
			for m := range 6 {
				t[r][f][m] = fmt.Sprintf("%d%d%d", r, f, m)
			}
		}
	}
	return t
}()

func rfmScore(r, f, m int) string {
	if r < 0 || r > 5 || f < 0 || f > 5 || m < 0 || m > 5 {
		return fmt.Sprintf("%d%d%d", r, f, m)
	}
	return rfmScores[r][f][m]
}

// planColumns are what planning reads of a matching customer: addresses,
// consents and the time zone (send time, quiet hours, daily occurrence).
var planColumns = []string{"email", "phone", "email_consent", "sms_consent", "time_zone"}

// envColumns maps each rule environment name to the customer columns
// FillEnv derives it from. Names with no column (now, event, days_since and
// the other functions of their arguments) map to nothing.
var envColumns = map[string][]string{
	"id": nil, "external_id": {"external_id"}, "email": {"email"}, "phone": {"phone"},
	"first_name": {"first_name"}, "last_name": {"last_name"}, "locale": {"locale"},
	"time_zone": {"time_zone"}, "birthday": {"birthday"}, "tags": {"tags"}, "attributes": {"attributes"},
	"email_consent": {"email_consent"}, "sms_consent": {"sms_consent"},
	"orders_count": {"orders_count"}, "total_spent": {"total_spent_cents"},
	"average_order_value":        {"total_spent_cents", "orders_count"},
	"first_purchase_at":          {"first_purchase_at"},
	"last_purchase_at":           {"last_purchase_at"},
	"days_since_last_purchase":   {"last_purchase_at"},
	"avg_days_between_purchases": {"avg_days_between"},
	"rfm":                        {"rfm_r", "rfm_f", "rfm_m", "rfm_segment"},
	"lifecycle":                  {"lifecycle"}, "p_alive": {"p_alive"},
	"expected_purchases_90d": {"expected_purchases_90d"}, "clv": {"clv"},
	"event": nil, "now": nil,
	"days_since": nil, "days_until": nil, "within_days": nil,
	"age": {"birthday", "time_zone"}, "in_local_hour": {"time_zone"},
	"has_tag": {"tags"}, "attr": {"attributes"},
}

// AudienceColumns lists the customer columns a Lean audience of c reads:
// planning's, the trigger's and those behind every name its rules use. A
// name it does not know (an environment field added without a mapping)
// makes it return nil, which reads every column.
func AudienceColumns(c *campaigns.Campaign) []string {
	set := map[string]bool{}
	for _, col := range planColumns {
		set[col] = true
	}
	names := c.Audience.Fields()
	switch c.Trigger.Kind {
	case campaigns.TriggerBirthday:
		names = append(names, "birthday", "time_zone")
	case campaigns.TriggerInactivity:
		names = append(names, "days_since_last_purchase", "avg_days_between_purchases")
	case campaigns.TriggerChurnRisk:
		names = append(names, c.Trigger.ChurnRisk.Rule.Fields()...)
	}
	for _, name := range names {
		cols, ok := envColumns[name]
		if !ok {
			return nil
		}
		for _, col := range cols {
			set[col] = true
		}
	}
	out := make([]string, 0, len(set))
	for col := range set {
		out = append(out, col)
	}
	slices.Sort(out)
	return out
}
