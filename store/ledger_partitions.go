package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ledgerPartitionsAhead is how many months after the current one have their
// PostgreSQL ledger partition created ahead of the rows that will fill them.
const ledgerPartitionsAhead = 3

// legacyPeriod is the period of the rows a ledger held before it was
// partitioned (migration 0022): they stay in one partition,
// deliveries_legacy, with every occurrence they belong to.
var legacyPeriod = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// periodKey is what a ledger period belongs to: one occurrence of a campaign.
type periodKey struct{ campaign, occurrence string }

// deliveryPeriods gives the period (the ledger partition, PostgreSQL) of each
// occurrence of rows: the month it was first planned, recorded in
// delivery_periods the first time and read ever after. Because every row of
// an occurrence carries its occurrence's period, the unique key (campaign,
// customer, occurrence, period) of a partitioned ledger is the once-per-
// occurrence key across every partition. tx must be the transaction that
// then inserts the rows: the retention (MaintainLedger) locks
// delivery_periods against the write this takes, so it never drops an
// occurrence while rows of it are being written.
func deliveryPeriods(ctx context.Context, tx sqlx.ExtContext, rows []NewDelivery, now time.Time) (map[periodKey]time.Time, error) {
	out := map[periodKey]time.Time{}
	var camps, occs []string
	for _, r := range rows {
		k := periodKey{r.CampaignID, r.Occurrence}
		if _, dup := out[k]; !dup {
			out[k] = time.Time{}
			camps, occs = append(camps, k.campaign), append(occs, k.occurrence)
		}
	}
	// A key another transaction added while this statement waited on it is
	// in neither half of the answer (the statement's snapshot predates it):
	// the next try reads it.
	for try := 0; ; try++ {
		q, err := tx.QueryxContext(ctx, `WITH wanted (campaign_id, occurrence) AS (SELECT * FROM unnest($1::text[], $2::text[])),
			added AS (INSERT INTO delivery_periods (campaign_id, occurrence, period)
				SELECT campaign_id, occurrence, $3::date FROM wanted ON CONFLICT DO NOTHING
				RETURNING campaign_id, occurrence, period)
			SELECT campaign_id, occurrence, period FROM added
			UNION ALL
			SELECT p.campaign_id, p.occurrence, p.period FROM delivery_periods p JOIN wanted w USING (campaign_id, occurrence)`,
			camps, occs, monthStart(now))
		if err != nil {
			return nil, fmt.Errorf("store: delivery periods: %w", err)
		}
		found := 0
		for q.Next() {
			var k periodKey
			var p time.Time
			if err := q.Scan(&k.campaign, &k.occurrence, &p); err != nil {
				q.Close()
				return nil, fmt.Errorf("store: delivery periods: %w", err)
			}
			out[k] = p
			found++
		}
		if err := q.Close(); err != nil {
			return nil, fmt.Errorf("store: delivery periods: %w", err)
		}
		if found == len(camps) {
			return out, nil
		}
		if try == 3 {
			return nil, fmt.Errorf("store: delivery periods: %d of %d occurrences unresolved", len(camps)-found, len(camps))
		}
	}
}

// LedgerMaintenance is what MaintainLedger did.
type LedgerMaintenance struct {
	Created []string // partitions created (PostgreSQL)
	Dropped []string // partitions dropped whole: every row in them was past retention
	Deleted int64    // rows deleted one by one (SQLite; PostgreSQL's default partition)
}

// MaintainLedger keeps the deliveries ledger in shape, as of now: on
// PostgreSQL it creates the monthly partitions of the current month and the
// next ledgerPartitionsAhead. With a retention (> 0) it then forgets the
// occurrences whose every row was created before now - retention: on
// PostgreSQL by dropping the partitions that hold only such occurrences
// (a partition holds the occurrences first planned in its month: an
// occurrence still planning new rows, a "once ever" one, keeps its
// partition), on SQLite by deleting their rows. An occurrence is forgotten
// whole or not at all, so its once-only key never half holds. Safe to run
// concurrently and repeatedly (the scheduler runs it hourly).
func (s *Store) MaintainLedger(ctx context.Context, now time.Time, retention time.Duration) (LedgerMaintenance, error) {
	var m LedgerMaintenance
	if retention < 0 {
		return m, fmt.Errorf("store: maintain ledger: retention %s must not be negative", retention)
	}
	var err error
	if s.Dialect == Postgres {
		if m.Created, err = deliveriesByMonth.create(ctx, s, now, ledgerPartitionsAhead); err != nil {
			return m, err
		}
	}
	if retention == 0 {
		return m, nil
	}
	cutoff := now.Add(-retention).UTC()
	if s.Dialect != Postgres {
		res, err := s.DB.ExecContext(ctx, `DELETE FROM deliveries WHERE (campaign_id, occurrence) IN (
			SELECT campaign_id, occurrence FROM deliveries GROUP BY campaign_id, occurrence HAVING max(created_at) < ?)`, cutoff)
		if err != nil {
			return m, fmt.Errorf("store: delete ledger rows past retention: %w", err)
		}
		m.Deleted, _ = res.RowsAffected()
		return m, nil
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		m.Dropped, m.Deleted, err = dropLedgerPeriods(ctx, tx, cutoff)
		return err
	})
	return m, err
}

// dropLedgerPeriods drops the ledger partitions wholly older than cutoff,
// deletes the default partition's occurrences wholly older than it, and
// forgets their periods and what pointed at their rows.
func dropLedgerPeriods(ctx context.Context, tx *sqlx.Tx, cutoff time.Time) (dropped []string, deleted int64, err error) {
	// Waits for the transactions planning rows (they write delivery_periods)
	// and holds new ones back until the periods below are gone.
	if _, err := tx.ExecContext(ctx, `LOCK TABLE delivery_periods IN SHARE MODE`); err != nil {
		return nil, 0, fmt.Errorf("store: lock delivery periods: %w", err)
	}
	var names []string
	if err := tx.SelectContext(ctx, &names, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'deliveries'::regclass ORDER BY c.relname`); err != nil {
		return nil, 0, fmt.Errorf("store: list ledger partitions: %w", err)
	}
	var periods []time.Time
	for _, name := range names {
		period, ok := deliveriesByMonth.month(name)
		if name == "deliveries_legacy" {
			period, ok = legacyPeriod, true
		}
		if !ok || period.AddDate(0, 1, 0).After(cutoff) {
			continue // the default partition, or a month with rows still kept
		}
		var recent bool
		if err := tx.GetContext(ctx, &recent, `SELECT EXISTS (SELECT 1 FROM `+name+` WHERE created_at >= $1)`, cutoff); err != nil {
			return dropped, 0, fmt.Errorf("store: check ledger partition %s: %w", name, err)
		}
		if recent {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+name); err != nil {
			return dropped, 0, fmt.Errorf("store: drop ledger partition %s: %w", name, err)
		}
		dropped, periods = append(dropped, name), append(periods, period)
	}
	var old []time.Time
	if err := tx.SelectContext(ctx, &old, `SELECT period FROM deliveries_default GROUP BY period
		HAVING max(created_at) < $1`, cutoff); err != nil {
		return dropped, 0, fmt.Errorf("store: old periods of the default ledger partition: %w", err)
	}
	if len(old) > 0 {
		res, err := tx.ExecContext(ctx, `DELETE FROM deliveries_default WHERE period = ANY($1)`, old)
		if err != nil {
			return dropped, 0, fmt.Errorf("store: delete ledger rows past retention: %w", err)
		}
		deleted, _ = res.RowsAffected()
		periods = append(periods, old...)
	}
	if len(periods) == 0 {
		return dropped, deleted, nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM delivery_periods WHERE period = ANY($1)`, periods); err != nil {
		return dropped, deleted, fmt.Errorf("store: forget ledger periods: %w", err)
	}
	// No foreign key can point at a partitioned ledger's id: what pointed
	// at the rows just removed goes (or lets go) here.
	for _, q := range []string{
		`DELETE FROM transactional_sends t WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = t.delivery_id)`,
		`DELETE FROM delivery_engagement e WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = e.delivery_id)`,
		`UPDATE delivery_feedback f SET delivery_id = NULL
			WHERE delivery_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = f.delivery_id)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return dropped, deleted, fmt.Errorf("store: rows of forgotten deliveries: %w", err)
		}
	}
	return dropped, deleted, nil
}
