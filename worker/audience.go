// Package worker runs campaigns: the asynq task types and handlers, the
// audience run that turns a campaign firing into ledger rows, the delivery
// pipeline that sends each row once, and the reconciler that repairs what
// Redis lost. Its lower layers are campaigns, rules, triggers, channels and
// store.
package worker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/customer"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
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
	env.Spend90d = float64(c.Spend90dCents) / 100
	env.SpendPrev90d = float64(c.SpendPrev90dCents) / 100
	env.Orders90d = c.Orders90d
	env.OrdersPrev90d = c.OrdersPrev90d
	env.ValueTrend = c.ValueTrend
	env.ValueChurn = c.ValueChurn
	env.Tier = c.Tier
	env.ABC = c.ABC
	env.NextPurchaseDays = c.NextPurchaseDays
	env.NPS = c.NPS
	env.CSAT = c.CSAT
}

// AudienceOptions bounds an audience evaluation.
type AudienceOptions struct {
	Now        time.Time      // the evaluation clock
	DefaultLoc *time.Location // zone for customers without one
	AfterID    int64          // shard bounds: ids in (AfterID, UpToID]; 0 = unbounded
	UpToID     int64
	// Lean streams only the columns AudienceColumns names (what the trigger
	// and the rule read) and reads planning's (addresses, consents, time
	// zone) afterwards, for the matching customers of each page only: match
	// then sees a customer with its id, those columns and what the trigger
	// and the rule read; every other field is zero. Planning needs no more,
	// and skipping the rest is most of the cost of a stream.
	Lean bool
	// AsOf, when set, shows every streamed customer as of a past clock
	// (purchase metrics and scores from a Backtest) instead of as stored.
	AsOf *AsOf
}

// AudienceStats counts what an evaluation saw.
type AudienceStats struct {
	Evaluated int           // customers read
	Matched   int           // due by the trigger and matching the rule
	Errors    int           // customers whose rule failed at run time (counted, skipped)
	Elapsed   time.Duration // wall time of the evaluation
}

// Audience streams the customers in range, keeps those the campaign is due
// for (trigger condition and audience rule) and calls match for each, in id
// order, with the filled environment. match must not keep env or cust past
// its return. Memory stays flat whatever the number of customers.
func Audience(ctx context.Context, st *store.Store, c *campaigns.Campaign, opts AudienceOptions,
	match func(env *rules.Env, cust *store.Customer) error) (AudienceStats, error) {
	var stats AudienceStats
	started := time.Now()
	env := rules.NewEnv(opts.DefaultLoc)
	env.Now = opts.Now
	sopts := store.StreamOptions{AfterID: opts.AfterID, UpToID: opts.UpToID}
	var later *planReads
	if opts.Lean {
		var plan []string
		sopts.Columns, plan = leanColumns(c)
		if plan != nil && match != nil {
			penv := rules.NewEnv(opts.DefaultLoc)
			penv.Now = opts.Now
			later = &planReads{st: st, env: penv, match: match, columns: plan}
			sopts.AfterPage = func() error { return later.pageDone(ctx) }
			defer func() { _ = later.settle() }() // no match call outlives Audience
		}
	}
	var hist *pageHistory
	if uses := c.EventUses(); len(uses) > 0 {
		hist = newPageHistory(st, uses, opts.Now)
		sopts.BeforePage = hist.before(ctx)
		defer hist.settle() // no history read outlives Audience
	}
	var left *pageOptOuts
	if c.ReadsTopics() {
		left = &pageOptOuts{st: st}
		sopts.BeforePage = beforeBoth(sopts.BeforePage, left.before(ctx))
	}
	err := st.StreamCustomers(ctx, func(cust *store.Customer) error {
		stats.Evaluated++
		if opts.AsOf != nil {
			opts.AsOf.Apply(cust)
		}
		FillEnv(env, cust)
		if hist != nil {
			hist.give(env, cust.ID)
		}
		if left != nil {
			left.give(env, cust.ID)
		}
		due, err := campaigns.Due(c, env, opts.DefaultLoc)
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
		switch {
		case later != nil:
			later.add(cust)
		case match != nil:
			return match(env, cust)
		}
		return nil
	}, sopts)
	if later != nil {
		if ferr := later.settle(); err == nil {
			err = ferr
		}
		stats.Matched -= later.gone
	}
	stats.Elapsed = time.Since(started)
	if err != nil {
		return stats, fmt.Errorf("audience %s: %w", c.ID, err)
	}
	return stats, nil
}

// leanColumns splits what a Lean audience of c reads: the columns streamed
// for every customer (nil: all) and the planColumns read afterwards for the
// matching ones (nil: none).
func leanColumns(c *campaigns.Campaign) (stream, plan []string) {
	stream = AudienceColumns(c)
	switch {
	case stream == nil:
		return nil, nil
	case len(stream) == 0:
		// Nothing per customer decides (audience: "true"): all or none
		// match, and streaming planning's columns costs less than reading
		// them back by id.
		return planColumns, nil
	}
	return stream, missing(planColumns, stream)
}

// planReads holds a page's matching customers until the page is done, then
// reads their planning columns in one query and calls match for each. It
// does so in a goroutine of its own, on another connection, while the stream
// reads the next page: one page's reads in flight at a time, and pages in
// order, so match still sees the customers one at a time in id order. The
// stream holds its connection only within a page and waits for the previous
// page's reads only after releasing it, so the two never wait on each other
// for connections.
type planReads struct {
	st      *store.Store
	env     *rules.Env // its own: the stream's is in use meanwhile
	match   func(env *rules.Env, cust *store.Customer) error
	columns []string // planColumns the stream does not read
	kept    []store.Customer
	ids     []int64
	gone    int // kept customers deleted before their planning read

	done       chan error       // the reads in flight; nil when none
	flightKept []store.Customer // their buffers, kept's next ones once done
	flightIDs  []int64
}

// add keeps a copy of the streamed customer, whose row the stream reuses.
func (p *planReads) add(cust *store.Customer) {
	cp := *cust
	cp.Tags = slices.Clone(cust.Tags)
	cp.Attributes = maps.Clone(cust.Attributes)
	p.kept = append(p.kept, cp)
	p.ids = append(p.ids, cust.ID)
}

// pageDone waits for the previous page's reads, then starts this page's.
func (p *planReads) pageDone(ctx context.Context) error {
	if err := p.settle(); err != nil {
		return err
	}
	if len(p.kept) == 0 {
		return nil
	}
	kept, ids := p.kept, p.ids
	p.kept, p.ids = p.flightKept[:0], p.flightIDs[:0] // the finished page's buffers
	p.flightKept, p.flightIDs = kept, ids
	done := make(chan error, 1)
	p.done = done
	go func() { done <- p.flush(ctx, kept, ids) }()
	return nil
}

// settle waits for the reads in flight, if any, and returns their error.
func (p *planReads) settle() error {
	if p.done == nil {
		return nil
	}
	err := <-p.done
	p.done = nil
	return err
}

// flush completes the kept customers with their planning columns and calls
// match for each, in id order. A customer deleted since the stream read it
// is no longer matched.
func (p *planReads) flush(ctx context.Context, kept []store.Customer, ids []int64) error {
	found := 0
	err := p.st.CustomersByID(ctx, ids, p.columns, func(row *store.Customer) error {
		for found < len(kept) && kept[found].ID < row.ID {
			kept[found].ID = 0 // gone
			found++
		}
		if found < len(kept) && kept[found].ID == row.ID {
			fillPlanning(&kept[found], row, p.columns)
			found++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read planning columns: %w", err)
	}
	for i := range kept {
		cust := &kept[i]
		if i >= found || cust.ID == 0 {
			p.gone++
			continue
		}
		FillEnv(p.env, cust)
		if err := p.match(p.env, cust); err != nil {
			return err
		}
	}
	return nil
}

// planColumns are what planning reads of a matching customer: addresses,
// consents and the time zone (send time, quiet hours, daily occurrence).
var planColumns = []string{"email", "phone", "email_consent", "sms_consent", "time_zone"}

// fillPlanning copies the columns (of planColumns) of row into cust.
func fillPlanning(cust, row *store.Customer, columns []string) {
	for _, col := range columns {
		switch col {
		case "email":
			cust.Email = row.Email
		case "phone":
			cust.Phone = row.Phone
		case "email_consent":
			cust.EmailConsent = row.EmailConsent
		case "sms_consent":
			cust.SMSConsent = row.SMSConsent
		case "time_zone":
			cust.TimeZone = row.TimeZone
		}
	}
}

// missing returns the columns of want that have is without, nil for none.
func missing(want, have []string) []string {
	var out []string
	for _, col := range want {
		if !slices.Contains(have, col) {
			out = append(out, col)
		}
	}
	return out
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

// envColumns maps each rule environment name to the customer columns
// FillEnv derives it from: the registry's names (customer.Fields) read
// their column or the columns they are computed from, a struct read whole
// (rfm != nil) the columns of all its members; the functions and the names
// with no column (now, event, and functions of their arguments only) are
// listed here.
var envColumns = func() map[string][]string {
	m := map[string][]string{
		"event": nil, "now": nil, "days_since": nil, "days_until": nil, "within_days": nil,
		"age": {"birthday", "time_zone"}, "in_local_hour": {"time_zone"},
		"has_tag": {"tags"}, "attr": {"attributes"},
		// The event history is read beside the stream (pageHistory).
		"count_events": nil, "last_event": nil, "days_since_event": nil,
		// Topic opt-outs too (pageOptOuts).
		"subscribed": nil,
	}
	for _, f := range customer.Fields {
		if f.Name == "" {
			continue
		}
		m[f.Name] = f.Columns()
		if root, _, member := strings.Cut(f.Name, "."); member {
			for _, col := range f.Columns() {
				if !slices.Contains(m[root], col) {
					m[root] = append(m[root], col)
				}
			}
		}
	}
	return m
}()

// AudienceColumns lists the customer columns a Lean audience of c streams
// for every customer: the trigger's and those behind every name its rules
// use (planning's columns are read afterwards, for the matching ones only).
// A name it does not know (an environment field added without a mapping)
// makes it return nil, which reads every column.
func AudienceColumns(c *campaigns.Campaign) []string {
	set := map[string]bool{}
	names := c.Audience.Fields()
	switch c.Trigger.Kind {
	case campaigns.TriggerBirthday:
		// phone: the zone of a customer without one is inferred from it.
		names = append(names, "birthday", "time_zone", "phone")
	case campaigns.TriggerInactivity:
		names = append(names, "days_since_last_purchase", "avg_days_between_purchases")
	case campaigns.TriggerChurnRisk:
		names = append(names, c.Trigger.ChurnRisk.Rule.Fields()...)
	}
	for _, name := range names {
		cols, ok := envColumns[name]
		if root, _, member := strings.Cut(name, "."); !ok && member {
			cols, ok = envColumns[root] // a member without its own mapping reads its whole field
		}
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
