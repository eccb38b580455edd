package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// monthly is a PostgreSQL table partitioned by month of one column: the
// events log by occurred_at, the deliveries ledger by period. Its partitions
// are named <table>_YYYY_MM, and <table>_default takes what falls outside
// them.
type monthly struct {
	table  string // the partitioned table
	column string // its partition key
	bound  string // the layout of a bound in the key's type
}

var (
	eventsByMonth     = monthly{table: "events", column: "occurred_at", bound: time.RFC3339}
	deliveriesByMonth = monthly{table: "deliveries", column: "period", bound: time.DateOnly}
)

// name names the partition of the month starting at month.
func (p monthly) name(month time.Time) string { return p.table + "_" + month.Format("2006_01") }

// month is the month a partition holds; false for the default partition
// and any other one not named by name.
func (p monthly) month(name string) (time.Time, bool) {
	m, err := time.Parse("2006_01", strings.TrimPrefix(name, p.table+"_"))
	return m, err == nil && strings.HasPrefix(name, p.table+"_")
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// create creates the partitions missing among the current month's and the
// ahead next ones'. A partition's name and bounds come from the clock, never
// from input, so they may be written into the statement (DDL takes no
// parameters).
func (p monthly) create(ctx context.Context, s *Store, now time.Time, ahead int) ([]string, error) {
	existing, err := p.partitions(ctx, s)
	if err != nil {
		return nil, err
	}
	var created []string
	for i := range ahead + 1 {
		from := monthStart(now).AddDate(0, i, 0)
		name := p.name(from)
		if existing[name] {
			continue
		}
		// A month that already has rows in the default partition (the
		// maintenance did not run for months) keeps them there: a partition
		// cannot be attached over rows of the default one.
		var taken bool
		if err := s.DB.GetContext(ctx, &taken, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %s_default
			WHERE %s >= $1 AND %s < $2)`, p.table, p.column, p.column), from, from.AddDate(0, 1, 0)); err != nil {
			return created, fmt.Errorf("store: check %s partition %s: %w", p.table, name, err)
		}
		if taken {
			continue
		}
		q := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM ('%s') TO ('%s')`,
			name, p.table, from.Format(p.bound), from.AddDate(0, 1, 0).Format(p.bound))
		if _, err := s.DB.ExecContext(ctx, q); err != nil {
			return created, fmt.Errorf("store: create %s partition %s: %w", p.table, name, err)
		}
		created = append(created, name)
	}
	return created, nil
}

// partitions lists the table's partitions in the current schema.
func (p monthly) partitions(ctx context.Context, s *Store) (map[string]bool, error) {
	var names []string
	err := s.DB.SelectContext(ctx, &names, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = $1::regclass`, p.table)
	if err != nil {
		return nil, fmt.Errorf("store: list %s partitions: %w", p.table, err)
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}
