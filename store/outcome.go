package store

import (
	"context"
	"fmt"
	"time"
)

// PendingOutcome is the one deferred write of the send path: the outcome of
// a message the provider accepted, held in memory instead of written at once
// so that it rides on the statement that claims the next row of the batch.
// A message then costs one round trip and one commit, not two.
//
// When it is written: by the next FinishAndClaim, folded into that claim's
// statement (on PostgreSQL one statement, elsewhere the finish then the
// claim), and written even when that claim finds nothing to claim; or, when
// there is no next claim (the batch ended, or stopped on an error or a
// shutdown), by FlushOutcome with a statement of its own. Either write is
// fenced by the claim token, like FinishDelivery.
//
// On a crash while an outcome is parked, nothing of it was written: the row
// stays "sending" under its claim, and once the claim is older than the lease
// the reconciler settles it like any send cut short (ExpireClaims): unknown,
// never resent, unless its campaign opted into resending. The message did
// leave, so the ledger then under-reports it; that is the same ambiguity as a
// crash between a send and its write, and the price of the saved round trip.
//
// It holds at most one outcome; the zero value holds none. The worker parks
// only "sent": a failure is written at once, before the suppression it may
// lead to.
type PendingOutcome struct {
	out *Outcome
}

// Park holds out until the next FinishAndClaim or FlushOutcome. Parking over
// an outcome not yet written would lose it, so it panics: the caller must
// flush or claim first.
func (p *PendingOutcome) Park(out Outcome) {
	if p.out != nil {
		panic(fmt.Sprintf("store: park the outcome of delivery %d over the unwritten outcome of delivery %d", out.ID, p.out.ID))
	}
	p.out = &out
}

// Held returns the parked outcome, or nil when none is waiting.
func (p *PendingOutcome) Held() *Outcome {
	if p == nil {
		return nil
	}
	return p.out
}

// Written is what became of a parked outcome in a statement: the outcome
// (nil when none was parked) and whether it was recorded (false: its claim
// had been taken over, so the row was left as it was).
type Written struct {
	Outcome  *Outcome
	Recorded bool
}

// TakenOver reports an outcome that was written but not recorded because
// another worker's claim or the reconciler had taken its row over.
func (w Written) TakenOver() bool { return w.Outcome != nil && !w.Recorded }

// written empties p after a statement wrote its outcome.
func (p *PendingOutcome) written(recorded bool) Written {
	w := Written{Outcome: p.Held(), Recorded: recorded}
	if p != nil {
		p.out = nil
	}
	return w
}

// FlushOutcome writes the parked outcome, if any, with a statement of its own
// (FinishDelivery) and empties p: the write for the outcome that no next
// claim will carry. On error the outcome stays parked.
func (s *Store) FlushOutcome(ctx context.Context, p *PendingOutcome, now time.Time) (Written, error) {
	out := p.Held()
	if out == nil {
		return Written{}, nil
	}
	recorded, err := s.FinishDelivery(ctx, out.ID, out.Token, out.Status, out.ProviderID, out.Error, now)
	if err != nil {
		return Written{}, err
	}
	return p.written(recorded), nil
}
