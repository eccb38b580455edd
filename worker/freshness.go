package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/customer"
	"github.com/tidings-crm/tidings/store"
)

// StaleScoresAfter is the age past which stored intelligence counts as
// stale: the scheduler refreshes it daily (refreshHour), so a day and a
// few hours of margin for the refresh itself.
const StaleScoresAfter = 30 * time.Hour

// RefreshCommand is what a user runs to bring stored scores up to date.
const RefreshCommand = "tidings insights refresh"

// scoreColumns are the stored intelligence columns: those the insights
// refresh writes (customer.Insights).
var scoreColumns = func() map[string]bool {
	cols := map[string]bool{}
	for _, c := range customer.SetBy(customer.Insights) {
		cols[c] = true
	}
	return cols
}()

// ReadsScores reports whether c's trigger or audience rule reads stored
// intelligence (RFM, lifecycle, P(alive), expected purchases, CLV), whose
// freshness then decides who matches.
func ReadsScores(c *campaigns.Campaign) bool {
	cols := AudienceColumns(c)
	if cols == nil {
		return true // a field without its own column: assume the worst
	}
	for _, col := range cols {
		if scoreColumns[col] {
			return true
		}
	}
	return false
}

// ScoresWarning returns a warning, with the command that fixes it, when c
// reads intelligence and some customers in (afterID, upToID] (0 =
// unbounded) have none or have scores older than StaleScoresAfter at now;
// "" when nothing is wrong or c reads no score.
func ScoresWarning(ctx context.Context, st *store.Store, c *campaigns.Campaign, now time.Time, afterID, upToID int64) (string, store.InsightsFreshness, error) {
	if !ReadsScores(c) {
		return "", store.InsightsFreshness{}, nil
	}
	f, err := st.InsightsFreshness(ctx, now.Add(-StaleScoresAfter), afterID, upToID)
	if err != nil || f.Fine() {
		return "", f, err
	}
	return freshnessText(c.ID, f), f, nil
}

func freshnessText(campaign string, f store.InsightsFreshness) string {
	return fmt.Sprintf("%s reads customer scores (lifecycle, rfm, p_alive, clv), but %d of %d customers have none "+
		"and %d have scores older than %s: they may match wrongly; run %q", campaign, f.Missing, f.Customers,
		f.Stale, StaleScoresAfter, RefreshCommand)
}

// CustomerScoresWarning is ScoresWarning for one customer (preview).
func CustomerScoresWarning(c *campaigns.Campaign, cust *store.Customer, now time.Time) string {
	if !ReadsScores(c) {
		return ""
	}
	switch {
	case cust.InsightsAt.IsZero():
		return fmt.Sprintf("customer %s has no scores yet (lifecycle, rfm, p_alive, clv), which %s reads; run %q",
			cust.ExternalID, c.ID, RefreshCommand)
	case now.Sub(cust.InsightsAt) > StaleScoresAfter:
		return fmt.Sprintf("customer %s's scores date from %s, older than %s, and %s reads them; run %q",
			cust.ExternalID, cust.InsightsAt.Format(time.RFC3339), StaleScoresAfter, c.ID, RefreshCommand)
	}
	return ""
}

// warnStaleScores logs (and counts in tidings_stale_scores_total) the
// shard's customers whose scores are missing or stale, when c reads them.
// A failed check is logged, not fatal: the run goes on.
func (e *Engine) warnStaleScores(ctx context.Context, c *campaigns.Campaign, now time.Time, p ShardPayload) {
	msg, f, err := ScoresWarning(ctx, e.st, c, now, p.Lo, p.Hi)
	if err != nil {
		e.opts.Logger.Warn("could not check the freshness of customer scores", "campaign", c.ID, "err", err)
		return
	}
	if msg == "" {
		return
	}
	e.opts.Logger.Warn(msg, "campaign", c.ID, "missing", f.Missing, "stale", f.Stale, "fix", RefreshCommand)
	e.opts.Metrics.staleScores(c.ID, f.Missing+f.Stale)
}
