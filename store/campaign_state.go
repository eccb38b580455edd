package store

import (
	"context"
	"fmt"
	"time"
)

// SetPaused records an operator's pause (or resume) of a campaign. Resuming
// a campaign the safety paused (its complaint or bounce rate) clears the
// reason and keeps the safety from pausing it again: the operator decided.
func (s *Store) SetPaused(ctx context.Context, campaignID string, paused bool, now time.Time) error {
	_, err := s.DB.ExecContext(ctx, s.DB.Rebind(`INSERT INTO campaign_state (campaign_id, paused, updated_at)
		VALUES (?, ?, ?) ON CONFLICT (campaign_id) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at,
		safety_override = CASE WHEN NOT excluded.paused AND campaign_state.pause_reason <> '' THEN true
			ELSE campaign_state.safety_override END,
		pause_reason = CASE WHEN excluded.paused THEN campaign_state.pause_reason ELSE '' END`),
		campaignID, paused, now.UTC())
	if err != nil {
		return fmt.Errorf("store: set paused %s: %w", campaignID, err)
	}
	return nil
}

// PausedCampaigns returns the ids of the campaigns an operator paused.
func (s *Store) PausedCampaigns(ctx context.Context) (map[string]bool, error) {
	var ids []string
	if err := s.DB.SelectContext(ctx, &ids, `SELECT campaign_id FROM campaign_state WHERE paused`); err != nil {
		return nil, fmt.Errorf("store: paused campaigns: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// LastRun returns the most recent run of a campaign, or ErrNotFound.
func (s *Store) LastRun(ctx context.Context, campaignID string) (*Run, error) {
	var runs []Run
	err := s.DB.SelectContext(ctx, &runs, s.DB.Rebind(`SELECT id, campaign_id, occurrence, status, scheduled_for,
		started_at, finished_at FROM campaign_runs WHERE campaign_id = ? ORDER BY started_at DESC, id DESC LIMIT 1`), campaignID)
	if err != nil {
		return nil, fmt.Errorf("store: last run %s: %w", campaignID, err)
	}
	if len(runs) == 0 {
		return nil, ErrNotFound
	}
	return &runs[0], nil
}
