package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// RunStatus is a campaign run's state, as campaign_runs.status holds it.
type RunStatus string

// Run statuses.
const (
	RunRunning RunStatus = "running" // planning: shards still to finish
	RunDone    RunStatus = "done"    // every shard finished
)

// Run is one firing of a campaign: UNIQUE(campaign_id, occurrence) makes two
// schedulers firing the same tick create one run.
type Run struct {
	ID           int64      `db:"id"`
	CampaignID   string     `db:"campaign_id"`
	Occurrence   string     `db:"occurrence"`
	Status       RunStatus  `db:"status"`
	ScheduledFor *time.Time `db:"scheduled_for"`
	StartedAt    *time.Time `db:"started_at"`
	FinishedAt   *time.Time `db:"finished_at"`
}

// Shard is an id range (Lo, Hi] of customers within a run.
type Shard struct {
	RunID  int64  `db:"run_id"`
	Lo     int64  `db:"lo"`
	Hi     int64  `db:"hi"`
	Status string `db:"status"` // pending, done
}

// StartRun creates the run for (campaign, occurrence) unless it exists, and
// returns it either way.
func (s *Store) StartRun(ctx context.Context, campaignID, occurrence string, scheduledFor, now time.Time) (*Run, error) {
	_, err := s.DB.ExecContext(ctx, s.DB.Rebind(`INSERT INTO campaign_runs
		(campaign_id, occurrence, status, scheduled_for, started_at) VALUES (?, ?, 'running', ?, ?)
		ON CONFLICT (campaign_id, occurrence) DO NOTHING`), campaignID, occurrence, timeArg(scheduledFor), now.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: start run %s/%s: %w", campaignID, occurrence, err)
	}
	return s.RunByOccurrence(ctx, campaignID, occurrence)
}

// RunByOccurrence returns the run (campaign, occurrence), or ErrNotFound: a
// forced run asks it first, so an occurrence that ran is not run again.
func (s *Store) RunByOccurrence(ctx context.Context, campaignID, occurrence string) (*Run, error) {
	var r Run
	err := s.DB.GetContext(ctx, &r, s.DB.Rebind(`SELECT id, campaign_id, occurrence, status, scheduled_for, started_at,
		finished_at FROM campaign_runs WHERE campaign_id = ? AND occurrence = ?`), campaignID, occurrence)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: run %s/%s: %w", campaignID, occurrence, err)
	}
	return &r, nil
}

// RunCounts counts the ledger rows one run wrote, by status: what that firing
// planned and sent, apart from every other run of the campaign. (The campaign
// id lets the query read the campaign's rows through the ledger's unique
// index rather than the whole table.)
func (s *Store) RunCounts(ctx context.Context, r *Run) (map[Status]int, error) {
	n, err := s.countByStatus(ctx, `SELECT status, count(*) FROM deliveries
		WHERE campaign_id = ? AND run_id = ? GROUP BY status`, r.CampaignID, r.ID)
	if err != nil {
		return nil, fmt.Errorf("store: run counts %s/%s: %w", r.CampaignID, r.Occurrence, err)
	}
	return n, nil
}

// RunByID returns one run.
func (s *Store) RunByID(ctx context.Context, id int64) (*Run, error) {
	var r Run
	err := s.DB.GetContext(ctx, &r, s.DB.Rebind(`SELECT id, campaign_id, occurrence, status, scheduled_for, started_at,
		finished_at FROM campaign_runs WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: run %d: %w", id, err)
	}
	return &r, nil
}

// CountRuns counts the runs of a campaign.
func (s *Store) CountRuns(ctx context.Context, campaignID string) (int, error) {
	var n int
	err := s.DB.GetContext(ctx, &n, s.DB.Rebind(`SELECT count(*) FROM campaign_runs WHERE campaign_id = ?`), campaignID)
	return n, err
}

// CustomerIDRange returns the smallest and largest customer id (0, 0 when
// there are none).
func (s *Store) CustomerIDRange(ctx context.Context) (lo, hi int64, err error) {
	var r struct {
		Lo sql.NullInt64 `db:"lo"`
		Hi sql.NullInt64 `db:"hi"`
	}
	// Two subqueries: SQLite reads a lone min() or max() from the index's
	// end, but both in one query scan the whole table.
	if err := s.DB.GetContext(ctx, &r, `SELECT (SELECT min(id) FROM customers) AS lo, (SELECT max(id) FROM customers) AS hi`); err != nil {
		return 0, 0, fmt.Errorf("store: customer id range: %w", err)
	}
	return r.Lo.Int64, r.Hi.Int64, nil
}

// AddShards records a run's shards (existing ones are kept as they are).
func (s *Store) AddShards(ctx context.Context, shards []Shard, now time.Time) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, sh := range shards {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO campaign_shards (run_id, lo, hi, status, updated_at)
				VALUES (?, ?, ?, 'pending', ?) ON CONFLICT (run_id, lo) DO NOTHING`), sh.RunID, sh.Lo, sh.Hi, now.UTC()); err != nil {
				return fmt.Errorf("store: add shard %d/%d: %w", sh.RunID, sh.Lo, err)
			}
		}
		return nil
	})
}

// ShardDone reports whether a shard has been completed.
func (s *Store) ShardDone(ctx context.Context, runID, lo int64) (bool, error) {
	var st string
	err := s.DB.GetContext(ctx, &st, s.DB.Rebind(`SELECT status FROM campaign_shards WHERE run_id = ? AND lo = ?`), runID, lo)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrNotFound
	}
	return st == "done", err
}

// FinishShard marks a shard done with its counts and, when it was the run's
// last pending shard, marks the run done. It reports whether the run is done.
func (s *Store) FinishShard(ctx context.Context, runID, lo int64, counts map[string]int, now time.Time) (bool, error) {
	var runDone bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Lock the run row first: two last shards finishing at once must
		// not each see the other still pending (under READ COMMITTED), or
		// neither marks the run done.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE campaign_runs SET status = status WHERE id = ?`), runID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE campaign_shards SET status = 'done', counts = ?, updated_at = ?
			WHERE run_id = ? AND lo = ?`), jsonText(counts), now.UTC(), runID, lo); err != nil {
			return err
		}
		var left int
		if err := tx.GetContext(ctx, &left, tx.Rebind(`SELECT count(*) FROM campaign_shards
			WHERE run_id = ? AND status = 'pending'`), runID); err != nil {
			return err
		}
		if left > 0 {
			return nil
		}
		runDone = true
		_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE campaign_runs SET status = 'done', finished_at = ?
			WHERE id = ? AND status <> 'done'`), now.UTC(), runID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: finish shard %d/%d: %w", runID, lo, err)
	}
	return runDone, nil
}

// StaleShards lists pending shards of running runs not touched since before
// olderThan (their task may be lost), and touches them.
func (s *Store) StaleShards(ctx context.Context, olderThan, now time.Time) ([]Shard, error) {
	var out []Shard
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &out, tx.Rebind(`SELECT run_id, lo, hi, status FROM campaign_shards
			WHERE status = 'pending' AND updated_at < ? ORDER BY run_id, lo LIMIT 1000`), olderThan.UTC()); err != nil {
			return err
		}
		for _, sh := range out {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE campaign_shards SET updated_at = ? WHERE run_id = ? AND lo = ?`),
				now.UTC(), sh.RunID, sh.Lo); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: stale shards: %w", err)
	}
	return out, nil
}

// StaleRuns lists runs still running with no shard recorded since before
// olderThan: their planning task was lost before it split the run.
func (s *Store) StaleRuns(ctx context.Context, olderThan time.Time) ([]Run, error) {
	var out []Run
	err := s.DB.SelectContext(ctx, &out, s.DB.Rebind(`SELECT id, campaign_id, occurrence, status, scheduled_for,
		started_at, finished_at FROM campaign_runs r WHERE status = 'running' AND started_at < ?
		AND NOT EXISTS (SELECT 1 FROM campaign_shards s WHERE s.run_id = r.id) LIMIT 100`), olderThan.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: stale runs: %w", err)
	}
	return out, nil
}

// RunExists reports whether the run (campaign, occurrence) was created.
func (s *Store) RunExists(ctx context.Context, campaignID, occurrence string) (bool, error) {
	var n int
	err := s.DB.GetContext(ctx, &n, s.DB.Rebind(`SELECT count(*) FROM campaign_runs WHERE campaign_id = ? AND occurrence = ?`),
		campaignID, occurrence)
	if err != nil {
		return false, fmt.Errorf("store: run exists: %w", err)
	}
	return n > 0, nil
}

// RunDone reports whether the run (campaign, occurrence) exists and has been
// fully evaluated.
func (s *Store) RunDone(ctx context.Context, campaignID, occurrence string) (bool, error) {
	var n int
	err := s.DB.GetContext(ctx, &n, s.DB.Rebind(`SELECT count(*) FROM campaign_runs
		WHERE campaign_id = ? AND occurrence = ? AND status = 'done'`), campaignID, occurrence)
	if err != nil {
		return false, fmt.Errorf("store: run done: %w", err)
	}
	return n > 0, nil
}
