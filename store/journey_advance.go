package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// AdvanceJourney records one move (AdvanceJourneys), and ErrLeaseLost
// when the caller no longer holds the state's lease.
func (s *Store) AdvanceJourney(ctx context.Context, m JourneyMove, now time.Time) error {
	lost, err := s.AdvanceJourneys(ctx, []JourneyMove{m}, now)
	if err == nil && lost > 0 {
		return ErrLeaseLost
	}
	return err
}

// AdvanceJourneys records the moves of a sweep's batch in one transaction
// (one commit for the batch, not one per customer) and returns how many it
// dropped because their lease was no longer the caller's: another sweep
// took the state after the lease ran out, and redoes its steps. Each move
// writes the new position, the steps taken and the removal of the events
// read; an event recorded after the engine read them leaves the state due
// at once, so it is not lost. The positions are one statement per move
// (each checks its own lease); the steps taken and the "due again" check
// are one statement per 500 moves.
func (s *Store) AdvanceJourneys(ctx context.Context, moves []JourneyMove, now time.Time) (lost int, err error) {
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		lost = 0
		var steps []takenStep
		var open []int64
		for _, m := range moves {
			journey, moved, err := s.moveOne(ctx, tx, m, now)
			if err != nil {
				return fmt.Errorf("store: advance journey state %d: %w", m.StateID, err)
			}
			if !moved {
				lost++
				continue
			}
			for _, st := range m.Taken {
				steps = append(steps, takenStep{state: m.StateID, journey: journey, JourneyStep: st})
			}
			if m.Status != JourneyDone {
				open = append(open, m.StateID)
			}
		}
		if err := insertTakenSteps(ctx, tx, steps, now); err != nil {
			return err
		}
		return dueAgainIfEvents(ctx, tx, open, now)
	})
	return lost, err
}

// moveOne writes one move's position if its lease holds, removes the
// events it read and, when it ends the journey, reports the exit; it
// returns the state's journey and whether it moved.
func (s *Store) moveOne(ctx context.Context, tx *sqlx.Tx, m JourneyMove, now time.Time) (string, bool, error) {
	due, wake, done := any(now.UTC()), timeArg(m.WakeAt), any(nil)
	switch m.Status {
	case JourneyWaiting:
		due = timeArg(m.WakeAt)
	case JourneyDone:
		due, done = nil, now.UTC()
	}
	var journey []string
	if err := tx.SelectContext(ctx, &journey, tx.Rebind(`UPDATE journey_states SET step_id = ?, visit = ?, status = ?,
		step_since = ?, wake_at = ?, due_at = ?, wait_event = ?, exit_events = ?, arm = ?, version = ?, exit_reason = ?,
		lease_token = '', updated_at = ?, done_at = ? WHERE id = ? AND lease_token = ? RETURNING journey_id`),
		m.Step, m.Visit, m.Status, m.StepSince.UTC(), wake, due, m.WaitEvent, exitEventsColumn(m.ExitEvents), m.Arm,
		m.Version, m.ExitReason, now.UTC(), done, m.StateID, m.Token); err != nil || len(journey) == 0 {
		return "", false, err
	}
	if m.EventsRead > 0 {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM journey_events WHERE state_id = ? AND id <= ?`),
			m.StateID, m.EventsRead); err != nil {
			return "", false, fmt.Errorf("events: %w", err)
		}
	}
	if m.Status == JourneyDone {
		return journey[0], true, s.emitExited(ctx, tx, m.StateID, m.Step, m.ExitReason, now)
	}
	return journey[0], true, nil
}

// takenStep is a journey_steps row: a step a state took.
type takenStep struct {
	state   int64
	journey string
	JourneyStep
}

// advanceChunk is how many rows one statement of AdvanceJourneys writes or
// checks (7 parameters a row stays far below SQLite's limit).
const advanceChunk = 500

// insertTakenSteps writes the steps taken, a statement per advanceChunk; a
// step already recorded (a repeated pass) is kept as it was.
func insertTakenSteps(ctx context.Context, tx *sqlx.Tx, steps []takenStep, now time.Time) error {
	for len(steps) > 0 {
		part := steps[:min(len(steps), advanceChunk)]
		steps = steps[len(part):]
		var b strings.Builder
		b.WriteString(`INSERT INTO journey_steps (state_id, journey_id, step_id, visit, outcome, delivery_status, at) VALUES `)
		args := make([]any, 0, 7*len(part))
		for i, st := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, st.state, st.journey, st.Step, st.Visit, st.Outcome, st.DeliveryStatus, now.UTC())
		}
		b.WriteString(" ON CONFLICT DO NOTHING")
		if _, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...); err != nil {
			return fmt.Errorf("store: record journey steps: %w", err)
		}
	}
	return nil
}

// dueAgainIfEvents makes the moved states that have kept events due now.
// It runs after the moves, as separate statements (a fresh snapshot on
// PostgreSQL), so it sees an event committed while a move's UPDATE waited
// for its row.
func dueAgainIfEvents(ctx context.Context, tx *sqlx.Tx, ids []int64, now time.Time) error {
	for len(ids) > 0 {
		part := ids[:min(len(ids), advanceChunk)]
		ids = ids[len(part):]
		q, args, err := sqlx.In(`UPDATE journey_states SET due_at = ? WHERE id IN (?)
			AND EXISTS (SELECT 1 FROM journey_events e WHERE e.state_id = journey_states.id)`, now.UTC(), part)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("store: journey states due again: %w", err)
		}
	}
	return nil
}
