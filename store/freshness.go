package store

import (
	"context"
	"fmt"
	"time"
)

// InsightsFreshness counts the customers whose stored intelligence (RFM,
// lifecycle, P(alive), CLV) a rule would read missing or out of date.
type InsightsFreshness struct {
	Customers int // customers in range
	Missing   int // never refreshed (insights_at NULL): the schema defaults, e.g. lifecycle ""
	Stale     int // refreshed before the cut-off
}

// Fine reports whether every customer has scores at least as recent as the
// cut-off.
func (f InsightsFreshness) Fine() bool { return f.Missing == 0 && f.Stale == 0 }

// InsightsFreshness counts, among customers with id in (afterID, upToID]
// (0 = unbounded), those never refreshed and those refreshed before
// staleBefore, in one scan of the customers table.
func (s *Store) InsightsFreshness(ctx context.Context, staleBefore time.Time, afterID, upToID int64) (InsightsFreshness, error) {
	if upToID <= 0 {
		upToID = 1<<63 - 1
	}
	var f InsightsFreshness
	err := s.DB.QueryRowContext(ctx, s.DB.Rebind(`SELECT count(*),
			coalesce(sum(CASE WHEN insights_at IS NULL THEN 1 ELSE 0 END), 0),
			coalesce(sum(CASE WHEN insights_at < ? THEN 1 ELSE 0 END), 0)
		FROM customers WHERE id > ? AND id <= ?`), staleBefore.UTC(), afterID, upToID).
		Scan(intInto{&f.Customers}, intInto{&f.Missing}, intInto{&f.Stale})
	if err != nil {
		return f, fmt.Errorf("store: insights freshness: %w", err)
	}
	return f, nil
}
