package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// JourneyFacts is what a journey's branch rules read of a customer's own
// path (rules.Journey): purchases since entry and the ledger status of each
// send step's row in this occurrence.
type JourneyFacts struct {
	Purchases    int
	RevenueCents int64
	// Sends is the ledger status of each send step's row, by step id (the
	// latest visit's when a loop sent it more than once).
	Sends map[string]Status
}

// JourneyFactsOf reads the facts of one customer's journey occurrence:
// their purchases at or after since, and the journey's ledger rows of the
// occurrence (occurrence keys "<occurrence>/<step>#<visit>").
func (s *Store) JourneyFactsOf(ctx context.Context, journeyID string, customerID int64, occurrence string, since time.Time) (JourneyFacts, error) {
	f := JourneyFacts{Sends: map[string]Status{}}
	err := s.DB.QueryRowContext(ctx, s.DB.Rebind(`SELECT count(*), coalesce(sum(amount_cents), 0) FROM purchases
		WHERE customer_id = ? AND occurred_at >= ?`), customerID, since.UTC()).Scan(&f.Purchases, &f.RevenueCents)
	if err != nil {
		return f, fmt.Errorf("store: journey facts of customer %d: %w", customerID, err)
	}
	var rows []struct {
		Occurrence string `db:"occurrence"`
		Status     Status `db:"status"`
	}
	if err := s.DB.SelectContext(ctx, &rows, s.DB.Rebind(`SELECT occurrence, status FROM deliveries
		WHERE campaign_id = ? AND customer_id = ? ORDER BY id`), journeyID, customerID); err != nil {
		return f, fmt.Errorf("store: journey sends of customer %d: %w", customerID, err)
	}
	for _, r := range rows {
		rest, ok := strings.CutPrefix(r.Occurrence, occurrence+"/")
		if step, _, found := strings.Cut(rest, "#"); ok && found {
			f.Sends[step] = r.Status
		}
	}
	return f, nil
}

// RecentJourneyCustomers returns which of ids are inside the journey now or
// left it (or were held out) at or after since: a journey entered "once per
// N days" takes a customer again only N days after their last exit.
func (s *Store) RecentJourneyCustomers(ctx context.Context, journeyID string, ids []int64, since time.Time) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT DISTINCT customer_id FROM journey_states WHERE journey_id = ? AND customer_id IN (?)
		AND (done_at IS NULL OR done_at >= ?)`, journeyID, ids, since.UTC())
	if err != nil {
		return nil, err
	}
	var found []int64
	if err := s.DB.SelectContext(ctx, &found, s.DB.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: recent journey customers of %s: %w", journeyID, err)
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}
