package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Journey state (docs/journeys.md, "Engine"): a customer inside a journey
// is one journey_states row, unique per (journey, customer, occurrence) and
// open (active or waiting) at most once per journey. A sweep claims due rows
// in batches under a lease token, the engine runs their steps, and
// AdvanceJourney moves the pointer only if the lease is still held: two
// sweepers never both move one customer. Events for waiting customers are
// kept in journey_events until the sweep has read them.

// JourneyStatus is a journey_states row's place in its life.
type JourneyStatus string

// Journey state statuses.
const (
	JourneyActive  JourneyStatus = "active"  // due to run its current step now
	JourneyWaiting JourneyStatus = "waiting" // in a wait or wait_for until wake_at (or an event)
	JourneyDone    JourneyStatus = "done"    // left the journey (exit_reason says why)
	JourneyHoldout JourneyStatus = "holdout" // the control group: entered on paper, takes no step
)

// ErrLeaseLost is returned by AdvanceJourney when the row's lease is no
// longer the caller's: another sweep took it (the caller's lease ran out) or
// it already moved. The caller drops its work; the ledger's unique key
// makes a repeated send step harmless.
var ErrLeaseLost = errors.New("store: journey lease lost")

// JourneyEntry is a customer entering a journey.
type JourneyEntry struct {
	JourneyID  string
	CustomerID int64
	Occurrence string
	Step       string // the first step
	Version    string
	EventID    string // the event that made the customer enter ("" for a run)
	Holdout    bool   // the control group: recorded, never advanced
	ExitEvents []string
}

// JourneyState is one customer inside (or once inside) a journey.
type JourneyState struct {
	ID         int64         `db:"id"`
	JourneyID  string        `db:"journey_id"`
	CustomerID int64         `db:"customer_id"`
	Occurrence string        `db:"occurrence"`
	Step       string        `db:"step_id"`
	Visit      int           `db:"visit"`
	Status     JourneyStatus `db:"status"`
	StepSince  time.Time     `db:"step_since"`
	WakeAt     *time.Time    `db:"wake_at"`
	DueAt      *time.Time    `db:"due_at"`
	WaitEvent  string        `db:"wait_event"`
	ExitEvents string        `db:"exit_events"`
	Arm        string        `db:"arm"`
	Version    string        `db:"version"`
	EventID    string        `db:"event_id"`
	ExitReason string        `db:"exit_reason"`
	LeaseToken string        `db:"lease_token"`
	EnteredAt  time.Time     `db:"entered_at"`
	UpdatedAt  time.Time     `db:"updated_at"`
	DoneAt     *time.Time    `db:"done_at"`
}

const journeyStateColumns = `id, journey_id, customer_id, occurrence, step_id, visit, status, step_since, wake_at,
	due_at, wait_event, exit_events, arm, version, event_id, exit_reason, lease_token, entered_at, updated_at, done_at`

// exitEventsColumn writes exit_on types as exit_events stores them: space
// separated and enclosed, so `LIKE '% purchase %'` finds one.
func exitEventsColumn(types []string) string {
	if len(types) == 0 {
		return ""
	}
	return " " + strings.Join(types, " ") + " "
}

// EnterJourney records the entries that are not inside their journey
// already, in one statement, and returns how many it wrote. An entry whose
// (journey, customer, occurrence) exists, or whose customer is inside the
// journey under another occurrence, is skipped: that is what makes a
// re-fired trigger, a retried task or two schedulers enter a customer once.
// Entered customers are due at now; holdout entries are written done.
func (s *Store) EnterJourney(ctx context.Context, entries []JourneyEntry, now time.Time) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO journey_states (journey_id, customer_id, occurrence, step_id, visit, status, step_since,
		due_at, exit_events, version, event_id, entered_at, updated_at, done_at) VALUES `)
	args := make([]any, 0, len(entries)*13)
	for i, e := range entries {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		status, due, done := JourneyActive, any(now.UTC()), any(nil)
		if e.Holdout {
			status, due, done = JourneyHoldout, nil, now.UTC()
		}
		args = append(args, e.JourneyID, e.CustomerID, e.Occurrence, e.Step, status, now.UTC(), due,
			exitEventsColumn(e.ExitEvents), e.Version, e.EventID, now.UTC(), now.UTC(), done)
	}
	b.WriteString(` ON CONFLICT DO NOTHING`)
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(b.String()), args...)
	if err != nil {
		return 0, fmt.Errorf("store: enter journey %s: %w", entries[0].JourneyID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ClaimDueJourneys leases up to limit open states of the given journeys
// that are due at now, oldest first, under token: their due time moves to
// now+lease, so a claimer that dies leaves them due again once the lease
// runs out. On PostgreSQL concurrent sweepers skip each other's rows (FOR
// UPDATE SKIP LOCKED); SQLite has one writer.
func (s *Store) ClaimDueJourneys(ctx context.Context, journeys []string, now time.Time, limit int, lease time.Duration,
	token string) ([]JourneyState, error) {
	if len(journeys) == 0 || limit <= 0 {
		return nil, nil
	}
	lock := ""
	if s.Dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	q, args, err := sqlx.In(`UPDATE journey_states SET lease_token = ?, due_at = ?, updated_at = ?
		WHERE id IN (SELECT id FROM journey_states WHERE status IN ('active', 'waiting') AND due_at <= ?
			AND journey_id IN (?) ORDER BY due_at LIMIT ?`+lock+`)
		RETURNING `+journeyStateColumns, token, now.Add(lease).UTC(), now.UTC(), now.UTC(), journeys, limit)
	if err != nil {
		return nil, err
	}
	var out []JourneyState
	if err := s.DB.SelectContext(ctx, &out, s.DB.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: claim due journey states: %w", err)
	}
	return out, nil
}

// JourneyStep is one step a customer took, for the journey's history (the
// report's funnel): the step and its visit, where it led, and for a send
// step the status its ledger row was written with.
type JourneyStep struct {
	Step           string
	Visit          int
	Outcome        string
	DeliveryStatus Status
}

// JourneyMove is what AdvanceJourney writes: the steps taken since the
// claim and where the customer now is.
type JourneyMove struct {
	StateID int64
	Token   string // the claim's lease token
	Taken   []JourneyStep
	Step    string
	Visit   int
	// Status is active (due again at once: a pass stopped at its bound),
	// waiting (until WakeAt, or an event), or done (ExitReason).
	Status     JourneyStatus
	StepSince  time.Time
	WakeAt     time.Time
	WaitEvent  string
	ExitEvents []string
	Arm        string
	Version    string
	ExitReason string
	// EventsRead is the highest journey_events id the engine has read for
	// the state: those rows are removed; later ones make it due at once.
	EventsRead int64
}

// ExitRemovedSteps ends, with reason step_removed, the open states of a
// journey whose step is not in steps (the journey file was edited and the
// step removed), and returns how many.
func (s *Store) ExitRemovedSteps(ctx context.Context, journeyID string, steps []string, now time.Time) (int64, error) {
	q, args, err := sqlx.In(`UPDATE journey_states SET status = 'done', exit_reason = ?, due_at = NULL, done_at = ?,
		updated_at = ?, lease_token = '' WHERE journey_id = ? AND status IN ('active', 'waiting') AND step_id NOT IN (?)`,
		ExitStepRemoved, now.UTC(), now.UTC(), journeyID, steps)
	if err != nil {
		return 0, err
	}
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(q), args...)
	if err != nil {
		return 0, fmt.Errorf("store: exit removed steps of %s: %w", journeyID, err)
	}
	return res.RowsAffected()
}

// ExitStepRemoved is the exit reason of a customer whose step was removed
// from the journey file while they were at it.
const ExitStepRemoved = "step_removed"

// JourneyStateOf returns a customer's state in a journey occurrence, or
// ErrNotFound.
func (s *Store) JourneyStateOf(ctx context.Context, journeyID string, customerID int64, occurrence string) (*JourneyState, error) {
	var out []JourneyState
	err := s.DB.SelectContext(ctx, &out, s.DB.Rebind(`SELECT `+journeyStateColumns+` FROM journey_states
		WHERE journey_id = ? AND customer_id = ? AND occurrence = ?`), journeyID, customerID, occurrence)
	if err != nil {
		return nil, fmt.Errorf("store: journey state %s/%d/%s: %w", journeyID, customerID, occurrence, err)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return &out[0], nil
}

// JourneyStates returns every state of a journey (every occurrence), in id
// order: for reports and tests.
func (s *Store) JourneyStates(ctx context.Context, journeyID string) ([]JourneyState, error) {
	var out []JourneyState
	err := s.DB.SelectContext(ctx, &out, s.DB.Rebind(`SELECT `+journeyStateColumns+` FROM journey_states
		WHERE journey_id = ? ORDER BY id`), journeyID)
	if err != nil {
		return nil, fmt.Errorf("store: journey states %s: %w", journeyID, err)
	}
	return out, nil
}

// emitExited reports, in the transaction that ended it, a customer's
// leaving a journey (journey.exited), with the step they left from and why.
func (s *Store) emitExited(ctx context.Context, tx *sqlx.Tx, stateID int64, step, reason string, now time.Time) error {
	if !s.Hooked(HookJourneyExited) {
		return nil
	}
	var st struct {
		Journey    string `db:"journey_id"`
		Occurrence string `db:"occurrence"`
		CustomerID int64  `db:"customer_id"`
		Customer   string `db:"external_id"`
	}
	if err := tx.GetContext(ctx, &st, tx.Rebind(`SELECT j.journey_id, j.occurrence, j.customer_id, c.external_id
		FROM journey_states j JOIN customers c ON c.id = j.customer_id WHERE j.id = ?`), stateID); err != nil {
		return fmt.Errorf("webhook of the exit: %w", err)
	}
	return s.emitHookTx(ctx, tx, HookEvent{Type: HookJourneyExited, Key: fmt.Sprint(stateID), CustomerID: st.CustomerID,
		At: now, Data: map[string]any{"journey": st.Journey, "occurrence": st.Occurrence, "customer": st.Customer,
			"step": step, "reason": reason}})
}
