// Package worker runs campaigns: the asynq task types and handlers, the
// audience run that turns a campaign firing into ledger rows, the delivery
// pipeline that sends each row once, and the reconciler that repairs what
// Redis lost. Its lower layers are campaigns, rules, triggers, channels and
// store.
package worker

import (
	"context"
	"fmt"
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
		env.RFM.Score = fmt.Sprintf("%d%d%d", c.RFMR, c.RFMF, c.RFMM)
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
	}, store.StreamOptions{AfterID: opts.AfterID, UpToID: opts.UpToID})
	stats.Elapsed = time.Since(started)
	if err != nil {
		return stats, fmt.Errorf("audience %s: %w", c.ID, err)
	}
	return stats, nil
}
