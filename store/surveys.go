package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tidings-crm/tidings/channels"
)

// Satisfaction surveys (migration 0015): survey_answers holds each survey
// message's latest answer, the events log each change of it, and the
// customer's nps / csat column the latest answer on each scale.

// SurveyAnswer is one answer to a survey message.
type SurveyAnswer struct {
	DeliveryID int64
	CustomerID int64
	CampaignID string
	Kind       string // "nps" or "csat" (campaigns.SurveyKind)
	Score      int
	Via        string // "link" or "sms"
	At         time.Time
}

// AnswerResult is what AnswerSurvey did.
type AnswerResult struct {
	// Changed is false when the delivery's answer already had this score
	// (a repeated click): nothing was written.
	Changed bool
	// Revision counts the answers that set the delivery's score, this one
	// included: 1 for a first answer.
	Revision int
	// EventID is the event written for this answer, when Changed.
	EventID string
}

// surveyColumns are the customers columns of each survey kind: the kinds
// are a closed set, so the column is picked, never built from input.
var surveyColumns = map[string]string{
	"nps":  `UPDATE customers SET nps = ?, updated_at = ? WHERE id = ?`,
	"csat": `UPDATE customers SET csat = ?, updated_at = ? WHERE id = ?`,
}

// SurveyEventID is the events log id of a delivery's revision-th answer.
func SurveyEventID(deliveryID int64, revision int) string {
	return fmt.Sprintf("survey:%d:%d", deliveryID, revision)
}

// AnswerSurvey records ans in one transaction: the delivery's answer row
// (its score replaced by a new one, left alone by the same one), the
// customer's latest score of the kind and, through the events inbox as
// /v1/events writes them, the answer's event, which event(revision) builds
// (its EventID must be SurveyEventID). A repeat of the delivery's current
// score writes nothing and returns Changed false, so the same click twice,
// or two at once, is one answer.
func (s *Store) AnswerSurvey(ctx context.Context, ans SurveyAnswer, event func(revision int) InboxEvent) (AnswerResult, error) {
	update, ok := surveyColumns[ans.Kind]
	if !ok {
		return AnswerResult{}, fmt.Errorf("store: answer survey: unknown kind %q", ans.Kind)
	}
	if _, err := s.keyedHash(ctx); err != nil { // before the transaction, as AcceptEvents
		return AnswerResult{}, err
	}
	var res AnswerResult
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res = AnswerResult{}
		err := tx.QueryRowxContext(ctx, tx.Rebind(`INSERT INTO survey_answers (delivery_id, customer_id, campaign_id,
			kind, score, via, revision, answered_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (delivery_id) DO UPDATE SET score = excluded.score, via = excluded.via,
				answered_at = excluded.answered_at, revision = survey_answers.revision + 1
			WHERE survey_answers.score <> excluded.score
			RETURNING revision`), ans.DeliveryID, ans.CustomerID, ans.CampaignID, ans.Kind, ans.Score, ans.Via,
			ans.At.UTC()).Scan(&res.Revision)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the same score again
		}
		if err != nil {
			return fmt.Errorf("write answer: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(update), ans.Score, ans.At.UTC(), ans.CustomerID); err != nil {
			return fmt.Errorf("write the customer's %s: %w", ans.Kind, err)
		}
		ev := event(res.Revision)
		if ev.EventID != SurveyEventID(ans.DeliveryID, res.Revision) {
			return fmt.Errorf("answer event id %q, want %q", ev.EventID, SurveyEventID(ans.DeliveryID, res.Revision))
		}
		acc, err := s.acceptTx(ctx, tx, []InboxEvent{ev})
		if err != nil {
			return fmt.Errorf("write the answer's event: %w", err)
		}
		if acc[0].Duplicate {
			return fmt.Errorf("answer event %s already exists", ev.EventID)
		}
		res.Changed, res.EventID = true, ev.EventID
		return nil
	})
	if err != nil {
		return AnswerResult{}, fmt.Errorf("store: answer survey (delivery %d): %w", ans.DeliveryID, err)
	}
	return res, nil
}

// StoredAnswer is a survey message's latest answer.
type StoredAnswer struct {
	SurveyAnswer
	Revision int
}

// SurveyAnswerOf returns the delivery's answer, or ErrNotFound.
func (s *Store) SurveyAnswerOf(ctx context.Context, deliveryID int64) (StoredAnswer, error) {
	var a StoredAnswer
	err := s.DB.QueryRowContext(ctx, s.DB.Rebind(`SELECT delivery_id, customer_id, campaign_id, kind, score, via,
		revision, answered_at FROM survey_answers WHERE delivery_id = ?`), deliveryID).Scan(&a.DeliveryID,
		&a.CustomerID, &a.CampaignID, &a.Kind, &a.Score, &a.Via, &a.Revision, timeInto{&a.At})
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("store: survey answer: %w", err)
	}
	return a, nil
}

// SentTo lists the deliveries of channel sent to any of customerIDs at or
// after since, newest first, at most limit: the messages an inbound reply
// may answer.
func (s *Store) SentTo(ctx context.Context, customerIDs []int64, channel channels.Name, since time.Time, limit int) ([]*Delivery, error) {
	if len(customerIDs) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(`SELECT `+deliveryColumns+` FROM deliveries WHERE customer_id IN (?) AND channel = ?
		AND sent_at >= ? ORDER BY sent_at DESC, id DESC LIMIT ?`, customerIDs, channel, since.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: sent to: %w", err)
	}
	var out []*Delivery
	if err := s.DB.SelectContext(ctx, &out, s.DB.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: sent to: %w", err)
	}
	return out, nil
}

// ScoreCount is how many survey messages' latest answers had Score, for
// one key (a UTC day, a campaign).
type ScoreCount struct {
	Day      time.Time // ScoresByDay: the UTC day
	Campaign string    // ScoresByCampaign: the campaign
	Score    int
	N        int
}

// ScoresByDay counts the latest answers of kind given in [from, to) per UTC
// day of the answer and score, oldest first.
func (s *Store) ScoresByDay(ctx context.Context, kind string, from, to time.Time) ([]ScoreCount, error) {
	const dayMillis = 86400000
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(fmt.Sprintf(`SELECT %s / %d AS day, score, COUNT(*)
		FROM survey_answers WHERE kind = ? AND answered_at >= ? AND answered_at < ?
		GROUP BY day, score ORDER BY day, score`, s.epochMillis("answered_at"), dayMillis)), kind, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: scores by day: %w", err)
	}
	defer rows.Close()
	var out []ScoreCount
	for rows.Next() {
		var day int64
		var c ScoreCount
		if err := rows.Scan(&day, &c.Score, &c.N); err != nil {
			return nil, fmt.Errorf("store: scores by day: %w", err)
		}
		c.Day = time.UnixMilli(day * dayMillis).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// ScoresByCampaign counts the latest answers of kind given in [from, to)
// per campaign and score; campaign "" counts every campaign.
func (s *Store) ScoresByCampaign(ctx context.Context, kind, campaign string, from, to time.Time) ([]ScoreCount, error) {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT campaign_id, score, COUNT(*) FROM survey_answers
		WHERE kind = ? AND (? = '' OR campaign_id = ?) AND answered_at >= ? AND answered_at < ?
		GROUP BY campaign_id, score ORDER BY campaign_id, score`), kind, campaign, campaign, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: scores by campaign: %w", err)
	}
	defer rows.Close()
	var out []ScoreCount
	for rows.Next() {
		var c ScoreCount
		if err := rows.Scan(&c.Campaign, &c.Score, &c.N); err != nil {
			return nil, fmt.Errorf("store: scores by campaign: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
