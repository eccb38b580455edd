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
// at once, so it is not lost. Each of these is one statement per
// advanceChunk moves (a position is written only where the move's own
// lease still holds); a journey's exit webhook is one statement per exit.
func (s *Store) AdvanceJourneys(ctx context.Context, moves []JourneyMove, now time.Time) (lost int, err error) {
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		lost = 0
		var steps []takenStep
		var open []int64
		var read []JourneyMove
		for len(moves) > 0 {
			part := moves[:min(len(moves), advanceChunk)]
			moves = moves[len(part):]
			journeys, err := s.movePositions(ctx, tx, part, now)
			if err != nil {
				return err
			}
			for _, m := range part {
				journey, moved := journeys[m.StateID]
				if !moved {
					lost++
					continue
				}
				for _, st := range m.Taken {
					steps = append(steps, takenStep{state: m.StateID, journey: journey, JourneyStep: st})
				}
				if m.EventsRead > 0 {
					read = append(read, m)
				}
				switch {
				case m.Status != JourneyDone:
					open = append(open, m.StateID)
				default:
					if err := s.emitExited(ctx, tx, m.StateID, m.Step, m.ExitReason, now); err != nil {
						return fmt.Errorf("store: advance journey state %d: %w", m.StateID, err)
					}
				}
			}
		}
		if err := s.removeEventsRead(ctx, tx, read); err != nil {
			return err
		}
		if err := insertTakenSteps(ctx, tx, steps, now); err != nil {
			return err
		}
		return dueAgainIfEvents(ctx, tx, open, now)
	})
	return lost, err
}

// moveColumns are the journey_states columns a move writes, after the
// state's id and lease token, with their PostgreSQL types.
var moveColumns = []struct{ name, pgType string }{
	{"step_id", "text"}, {"visit", "integer"}, {"status", "text"}, {"step_since", "timestamptz"},
	{"wake_at", "timestamptz"}, {"due_at", "timestamptz"}, {"wait_event", "text"}, {"exit_events", "text"},
	{"arm", "text"}, {"version", "text"}, {"exit_reason", "text"}, {"done_at", "timestamptz"},
}

// movePositions writes the positions of moves (at most advanceChunk) in
// one statement, each only where its lease token still holds, and returns
// the journey of each state it moved.
func (s *Store) movePositions(ctx context.Context, tx *sqlx.Tx, moves []JourneyMove, now time.Time) (map[int64]string, error) {
	names, types, sets := []string{"id", "token"}, []string{"bigint", "text"}, make([]string, len(moveColumns))
	for i, c := range moveColumns {
		names, types = append(names, c.name), append(types, c.pgType)
		sets[i] = c.name + " = v." + c.name
	}
	args := make([]any, 0, len(names)*len(moves)+1)
	for _, m := range moves {
		due, wake, done := any(now.UTC()), timeArg(m.WakeAt), any(nil)
		switch m.Status {
		case JourneyWaiting:
			due = timeArg(m.WakeAt)
		case JourneyDone:
			due, done = nil, now.UTC()
		}
		args = append(args, m.StateID, m.Token, m.Step, m.Visit, m.Status, m.StepSince.UTC(), wake, due,
			m.WaitEvent, exitEventsColumn(m.ExitEvents), m.Arm, m.Version, m.ExitReason, done)
	}
	args = append(args, now.UTC())
	q := valuesCTE(s.Dialect, names, types, len(moves)) + `
		UPDATE journey_states SET ` + strings.Join(sets, ", ") + `, lease_token = '', updated_at = ?
		FROM v WHERE journey_states.id = v.id AND journey_states.lease_token = v.token
		RETURNING journey_states.id, journey_states.journey_id`
	rows, err := tx.QueryContext(ctx, tx.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: advance journey states: %w", err)
	}
	defer rows.Close()
	moved := make(map[int64]string, len(moves))
	for rows.Next() {
		var id int64
		var journey string
		if err := rows.Scan(&id, &journey); err != nil {
			return nil, fmt.Errorf("store: advance journey states: %w", err)
		}
		moved[id] = journey
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: advance journey states: %w", err)
	}
	return moved, nil
}

// removeEventsRead deletes, for each move, the journey events up to the
// last one its engine read, a statement per advanceChunk moves.
func (s *Store) removeEventsRead(ctx context.Context, tx *sqlx.Tx, moves []JourneyMove) error {
	for len(moves) > 0 {
		part := moves[:min(len(moves), advanceChunk)]
		moves = moves[len(part):]
		args := make([]any, 0, 2*len(part))
		for _, m := range part {
			args = append(args, m.StateID, m.EventsRead)
		}
		q := valuesCTE(s.Dialect, []string{"state_id", "upto"}, []string{"bigint", "bigint"}, len(part)) + `
			DELETE FROM journey_events WHERE EXISTS (SELECT 1 FROM v
				WHERE v.state_id = journey_events.state_id AND journey_events.id <= v.upto)`
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("store: remove journey events read: %w", err)
		}
	}
	return nil
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
