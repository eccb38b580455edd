package store

import (
	"context"
	"fmt"
	"strings"
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
		if m.Created, err = s.createEventPartitions(ctx, now); err != nil {
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

// partitionName names the partition of the month starting at month.
func partitionName(month time.Time) string { return "events_" + month.Format("2006_01") }

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// createEventPartitions creates the partitions missing among the current
// month's and the next ones'. A partition's name and bounds come from the
// clock, never from input, so they may be written into the statement (DDL
// takes no parameters).
func (s *Store) createEventPartitions(ctx context.Context, now time.Time) ([]string, error) {
	existing, err := s.eventPartitions(ctx)
	if err != nil {
		return nil, err
	}
	var created []string
	for i := range eventPartitionsAhead + 1 {
		from := monthStart(now).AddDate(0, i, 0)
		name := partitionName(from)
		if existing[name] {
			continue
		}
		// A month that already has events in the default partition (the
		// maintenance did not run for months) keeps them there: a partition
		// cannot be attached over rows of the default one.
		var taken bool
		if err := s.DB.GetContext(ctx, &taken, `SELECT EXISTS (SELECT 1 FROM events_default
			WHERE occurred_at >= $1 AND occurred_at < $2)`, from, from.AddDate(0, 1, 0)); err != nil {
			return created, fmt.Errorf("store: check events partition %s: %w", name, err)
		}
		if taken {
			continue
		}
		q := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF events FOR VALUES FROM ('%s') TO ('%s')`,
			name, from.Format(time.RFC3339), from.AddDate(0, 1, 0).Format(time.RFC3339))
		if _, err := s.DB.ExecContext(ctx, q); err != nil {
			return created, fmt.Errorf("store: create events partition %s: %w", name, err)
		}
		created = append(created, name)
	}
	return created, nil
}

// dropEventPartitions drops the monthly partitions that end at or before
// cutoff.
func (s *Store) dropEventPartitions(ctx context.Context, cutoff time.Time) ([]string, error) {
	existing, err := s.eventPartitions(ctx)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for name := range existing {
		from, err := time.Parse("2006_01", strings.TrimPrefix(name, "events_"))
		if err != nil || from.AddDate(0, 1, 0).After(cutoff) {
			continue // events_default, or a month with events still kept
		}
		if _, err := s.DB.ExecContext(ctx, `DROP TABLE IF EXISTS `+name); err != nil {
			return dropped, fmt.Errorf("store: drop events partition %s: %w", name, err)
		}
		dropped = append(dropped, name)
	}
	return dropped, nil
}

// eventPartitions lists the partitions of events in the current schema.
func (s *Store) eventPartitions(ctx context.Context) (map[string]bool, error) {
	var names []string
	err := s.DB.SelectContext(ctx, &names, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("store: list events partitions: %w", err)
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}
