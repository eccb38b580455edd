package store

import (
	"context"
	"fmt"
)

// Analyze refreshes PostgreSQL's planner statistics of the customers and
// purchases tables. A bulk import calls it as the tables grow: with the
// statistics of a table a tenth of its size, PostgreSQL reads every
// purchase for each batch's metrics (a sequential scan, not the
// customer_id index), which made an import ten times the size take twenty
// times as long. Autovacuum analyzes too, but late under load. SQLite's
// planner uses the indexes without statistics: nothing to do there.
func (s *Store) Analyze(ctx context.Context) error {
	if s.Dialect != Postgres {
		return nil
	}
	if _, err := s.DB.ExecContext(ctx, `ANALYZE customers, purchases`); err != nil {
		return fmt.Errorf("store: analyze: %w", err)
	}
	return nil
}
