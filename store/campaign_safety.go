package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
)

// safetyPause pauses campaignID when the report of type typ makes its
// complaint or hard-bounce rate pass the policy's threshold, and returns
// the reason ("" when it did not pause). A campaign already paused, or
// resumed by an operator after a safety pause, is left alone.
//
// The rate is over the campaign's sent messages, counted only up to what
// decides it: the rate passes the threshold exactly when fewer than
// bad/threshold messages were sent, so the count stops there and a large
// campaign costs no more than a small one.
func (s *Store) safetyPause(ctx context.Context, tx *sqlx.Tx, campaignID string, typ FeedbackType, pol FeedbackPolicy, now time.Time) (string, error) {
	var threshold float64
	switch typ {
	case FeedbackComplaint:
		threshold = pol.ComplaintRate
	case FeedbackHardBounce:
		threshold = pol.HardBounceRate
	default:
		return "", nil
	}
	var st struct {
		Paused   bool `db:"paused"`
		Override bool `db:"safety_override"`
	}
	err := tx.GetContext(ctx, &st, tx.Rebind(`SELECT paused, safety_override FROM campaign_state WHERE campaign_id = ?`), campaignID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return "", fmt.Errorf("read campaign state: %w", err)
	case st.Paused || st.Override:
		return "", nil
	}
	var bad int64
	if err := tx.GetContext(ctx, &bad, tx.Rebind(`SELECT count(DISTINCT delivery_id) FROM delivery_feedback
		WHERE campaign_id = ? AND type = ? AND delivery_id IS NOT NULL`), campaignID, typ); err != nil {
		return "", fmt.Errorf("count %s: %w", typ, err)
	}
	limit := max(int64(pol.MinSample), int64(math.Floor(float64(bad)/threshold))+1)
	var sent int64
	if err := tx.GetContext(ctx, &sent, tx.Rebind(`SELECT count(*) FROM (SELECT 1 FROM deliveries
		WHERE campaign_id = ? AND status = 'sent' LIMIT ?) s`), campaignID, limit); err != nil {
		return "", fmt.Errorf("count sent: %w", err)
	}
	if sent < int64(pol.MinSample) || float64(bad) <= threshold*float64(sent) {
		return "", nil
	}
	what := map[FeedbackType]string{FeedbackComplaint: "complaint", FeedbackHardBounce: "hard-bounce"}[typ]
	reason := fmt.Sprintf("paused by the safety: %s rate %s (%d of %d sent) passed %s",
		what, percent(float64(bad)/float64(sent)), bad, sent, percent(threshold))
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO campaign_state (campaign_id, paused, pause_reason, updated_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id) DO UPDATE
		SET paused = excluded.paused, pause_reason = excluded.pause_reason, updated_at = excluded.updated_at`),
		campaignID, true, reason, now); err != nil {
		return "", fmt.Errorf("pause campaign: %w", err)
	}
	return reason, nil
}

// percent writes a share as a percentage with what precision it needs
// (0.1%, 5%, 0.25%).
func percent(r float64) string {
	return fmt.Sprintf("%s%%", trimFloat(r*100))
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

// PauseReasons returns, for each campaign (or journey) the safety paused
// and that is still paused, why: what the dashboard and `tidings report`
// show.
func (s *Store) PauseReasons(ctx context.Context) (map[string]string, error) {
	var rows []struct {
		ID     string `db:"campaign_id"`
		Reason string `db:"pause_reason"`
	}
	if err := s.DB.SelectContext(ctx, &rows, `SELECT campaign_id, pause_reason FROM campaign_state
		WHERE paused AND pause_reason <> ''`); err != nil {
		return nil, fmt.Errorf("store: pause reasons: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Reason
	}
	return out, nil
}
