package store

import (
	"context"
	"fmt"
	"time"
)

// DefaultEventRetention is how long the events log keeps an event when
// TIDINGS_EVENT_RETENTION is not set: as long as the deliveries ledger keeps
// its rows, so a rule over a year of history (count_events("signup",
// "365d")) sees all of it.
const DefaultEventRetention = 400 * 24 * time.Hour

// eventPartitionsAhead is how many months after the current one have their
// PostgreSQL partition created ahead of the events that will fill them.
const eventPartitionsAhead = 3

// EventMaintenance is what MaintainEvents did.
type EventMaintenance struct {
	Created []string // partitions created (PostgreSQL)
	Dropped []string // partitions dropped whole: every event in them was past retention
	Deleted int64    // events deleted one by one (SQLite; PostgreSQL's default and boundary partitions)
}

// MaintainEvents keeps the events log in shape, as of now: on PostgreSQL it
// creates the monthly partitions of the current month and the next
// eventPartitionsAhead, and drops the partitions wholly older than
// now - retention; on both databases it then deletes the remaining events
// older than that. It is safe to run concurrently and repeatedly (the
// scheduler runs it hourly).
func (s *Store) MaintainEvents(ctx context.Context, now time.Time, retention time.Duration) (EventMaintenance, error) {
	var m EventMaintenance
	if retention <= 0 {
		return m, fmt.Errorf("store: maintain events: retention %s must be positive", retention)
	}
	cutoff := now.Add(-retention).UTC()
	if s.Dialect == Postgres {
		var err error
		if m.Created, err = eventsByMonth.create(ctx, s, now, eventPartitionsAhead); err != nil {
			return m, err
		}
		if m.Dropped, err = s.dropEventPartitions(ctx, cutoff); err != nil {
			return m, err
		}
	}
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(`DELETE FROM events WHERE occurred_at < ?`), cutoff)
	if err != nil {
		return m, fmt.Errorf("store: delete events past retention: %w", err)
	}
	m.Deleted, _ = res.RowsAffected()
	return m, nil
}

// dropEventPartitions drops the monthly partitions that end at or before
// cutoff.
func (s *Store) dropEventPartitions(ctx context.Context, cutoff time.Time) ([]string, error) {
	existing, err := eventsByMonth.partitions(ctx, s)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for name := range existing {
		from, ok := eventsByMonth.month(name)
		if !ok || from.AddDate(0, 1, 0).After(cutoff) {
			continue // events_default, or a month with events still kept
		}
		if _, err := s.DB.ExecContext(ctx, `DROP TABLE IF EXISTS `+name); err != nil {
			return dropped, fmt.Errorf("store: drop events partition %s: %w", name, err)
		}
		dropped = append(dropped, name)
	}
	return dropped, nil
}
