package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Opens and clicks of tracked emails (migration 0018, web/tracking): one
// row per delivery with first times and counts, people's and machines'
// apart. The tracking endpoints add hits up in memory and write them here
// in batches.

// EngagementHits is what the tracking endpoints saw of one delivery since
// their last write: counts, and the first time of each kind (zero: none).
type EngagementHits struct {
	DeliveryID                                 int64
	Opens, MachineOpens, Clicks, MachineClicks int
	FirstOpen, FirstClick, Honeypot            time.Time
}

// RecordEngagement adds hits to their deliveries' rows in one transaction
// (one statement per 500 deliveries) and returns the deliveries whose first
// human open this write recorded (the ones an email_opened event is due
// for). Hits of a delivery that does not exist (deleted since the send) are
// dropped. Each delivery appears at most once in hits.
func (s *Store) RecordEngagement(ctx context.Context, hits []EngagementHits, now time.Time) (map[int64]bool, error) {
	ts, n := "?", "?"
	if s.Dialect == Postgres {
		// VALUES rows do not take their types from the columns they fill.
		ts, n = "CAST(? AS TIMESTAMPTZ)", "CAST(? AS INTEGER)"
	}
	row := "(CAST(? AS BIGINT), " + ts + ", " + n + ", " + n + ", " + ts + ", " + n + ", " + n + ", " + ts + ")"
	first := map[int64]bool{}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, ch := range chunks(len(hits), maxRowsPerInsert) {
			part := hits[ch[0]:ch[1]]
			rows := make([]string, len(part))
			args := make([]any, 0, len(part)*8+1)
			opens := make(map[int64]int, len(part))
			for i, h := range part {
				rows[i] = row
				args = append(args, h.DeliveryID, nullTime(h.FirstOpen), h.Opens, h.MachineOpens, nullTime(h.FirstClick),
					h.Clicks, h.MachineClicks, nullTime(h.Honeypot))
				opens[h.DeliveryID] = h.Opens
			}
			args = append(args, now.UTC())
			// column1..column8 are the VALUES columns' names in both
			// dialects; WHERE true settles SQLite's upsert-after-join parse.
			q := `INSERT INTO delivery_engagement (delivery_id, campaign_id, first_open_at, opens, machine_opens,
				first_click_at, clicks, machine_clicks, honeypot_at, updated_at)
			SELECT d.id, d.campaign_id, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, ` + ts + `
			FROM (VALUES ` + strings.Join(rows, ", ") + `) AS v JOIN deliveries d ON d.id = v.column1
			WHERE true
			ON CONFLICT (delivery_id) DO UPDATE SET
				first_open_at = COALESCE(delivery_engagement.first_open_at, excluded.first_open_at),
				opens = delivery_engagement.opens + excluded.opens,
				machine_opens = delivery_engagement.machine_opens + excluded.machine_opens,
				first_click_at = COALESCE(delivery_engagement.first_click_at, excluded.first_click_at),
				clicks = delivery_engagement.clicks + excluded.clicks,
				machine_clicks = delivery_engagement.machine_clicks + excluded.machine_clicks,
				honeypot_at = COALESCE(delivery_engagement.honeypot_at, excluded.honeypot_at),
				updated_at = excluded.updated_at
			RETURNING delivery_id, opens`
			// The now parameter is last in the text but first in the SELECT
			// list: move it to its place.
			args = append(args[len(args)-1:], args[:len(args)-1]...)
			r, err := tx.QueryContext(ctx, tx.Rebind(q), args...)
			if err != nil {
				return err
			}
			for r.Next() {
				var id int64
				var total int
				if err := r.Scan(&id, &total); err != nil {
					r.Close()
					return err
				}
				if opens[id] > 0 && total == opens[id] {
					first[id] = true
				}
			}
			r.Close()
			if err := r.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: record engagement of %d deliveries: %w", len(hits), err)
	}
	return first, nil
}

// nullTime is t for a nullable timestamp column: nil when zero.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// Engagement is one delivery's opens and clicks.
type Engagement struct {
	DeliveryID    int64      `db:"delivery_id"`
	CampaignID    string     `db:"campaign_id"`
	FirstOpenAt   *time.Time `db:"first_open_at"`
	Opens         int        `db:"opens"`
	MachineOpens  int        `db:"machine_opens"`
	FirstClickAt  *time.Time `db:"first_click_at"`
	Clicks        int        `db:"clicks"`
	MachineClicks int        `db:"machine_clicks"`
	HoneypotAt    *time.Time `db:"honeypot_at"`
}

// EngagementOf returns a delivery's opens and clicks, ErrNotFound when it
// has none.
func (s *Store) EngagementOf(ctx context.Context, deliveryID int64) (*Engagement, error) {
	var e Engagement
	err := s.DB.GetContext(ctx, &e, s.DB.Rebind(`SELECT delivery_id, campaign_id, first_open_at, opens, machine_opens,
		first_click_at, clicks, machine_clicks, honeypot_at FROM delivery_engagement WHERE delivery_id = ?`), deliveryID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: engagement of delivery %d: %w", deliveryID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: engagement of delivery %d: %w", deliveryID, err)
	}
	return &e, nil
}

// ArmEngagement counts one arm's tracked deliveries: how many were opened
// and clicked by people, and how many by machines (a delivery may be in
// both). Clicks is every human click. A delivery whose honeypot link was
// followed has all its clicks counted as a machine's.
type ArmEngagement struct {
	Holdout        bool   `db:"held"`
	Variant        string `db:"variant"`
	Opened         int64  `db:"opened"`
	MachineOpened  int64  `db:"machine_opened"`
	Clicked        int64  `db:"clicked"`
	MachineClicked int64  `db:"machine_clicked"`
	Clicks         int64  `db:"clicks"`
}

// Add sums o into a (pooling arms).
func (a *ArmEngagement) Add(o ArmEngagement) {
	a.Opened += o.Opened
	a.MachineOpened += o.MachineOpened
	a.Clicked += o.Clicked
	a.MachineClicked += o.MachineClicked
	a.Clicks += o.Clicks
}

// CampaignEngagement counts a campaign's opens and clicks per arm (variant,
// or the holdout, which receives nothing and so shows zeros).
func (s *Store) CampaignEngagement(ctx context.Context, campaignID string) ([]ArmEngagement, error) {
	var out []ArmEngagement
	err := s.DB.SelectContext(ctx, &out, s.DB.Rebind(`SELECT
		CASE WHEN d.status = 'holdout' THEN 1 ELSE 0 END AS held,
		CASE WHEN d.status = 'holdout' THEN '' ELSE d.variant END AS variant,
		SUM(CASE WHEN e.opens > 0 THEN 1 ELSE 0 END) AS opened,
		SUM(CASE WHEN e.machine_opens > 0 THEN 1 ELSE 0 END) AS machine_opened,
		SUM(CASE WHEN e.clicks > 0 AND e.honeypot_at IS NULL THEN 1 ELSE 0 END) AS clicked,
		SUM(CASE WHEN e.machine_clicks > 0 OR e.honeypot_at IS NOT NULL THEN 1 ELSE 0 END) AS machine_clicked,
		SUM(CASE WHEN e.honeypot_at IS NULL THEN e.clicks ELSE 0 END) AS clicks
	FROM delivery_engagement e JOIN deliveries d ON d.id = e.delivery_id
	WHERE e.campaign_id = ?
	GROUP BY CASE WHEN d.status = 'holdout' THEN 1 ELSE 0 END, CASE WHEN d.status = 'holdout' THEN '' ELSE d.variant END
	ORDER BY 1, 2`), campaignID)
	if err != nil {
		return nil, fmt.Errorf("store: engagement of campaign %s: %w", campaignID, err)
	}
	return out, nil
}

// ExternalIDsOf returns the external ids of the customers ids that exist.
func (s *Store) ExternalIDsOf(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	for _, ch := range chunks(len(ids), maxInList) {
		q, args, err := sqlx.In(`SELECT id, external_id FROM customers WHERE id IN (?)`, ids[ch[0]:ch[1]])
		if err != nil {
			return nil, err
		}
		rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(q), args...)
		if err != nil {
			return nil, fmt.Errorf("store: external ids: %w", err)
		}
		for rows.Next() {
			var id int64
			var ext string
			if err := rows.Scan(&id, &ext); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = ext
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
