package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// stepSends gathers the send steps a sweep batch's walks reach, so each
// send step is planned for all its customers at once (one suppressions
// read, one caps read, one insert, a deliver task per 100 rows) instead of
// customer by customer: a woken batch of 200 costs a handful of round trips,
// not a thousand. The rows are still written before the batch's moves
// commit, under the same (step, visit) keys, so a crash in between repeats
// the plan and the ledger's unique key keeps each send once.
type stepSends struct {
	pending []pendingSend
}

// pendingSend is one customer's send step waiting to be planned: the walk's
// move (its index in the batch's moves) and the index of the step in the
// move's Taken, whose DeliveryStatus the plan fills in.
type pendingSend struct {
	step  *campaigns.Step
	cand  candidate
	move  int
	taken int
	nth   int // the walk's first send step is 0, its second 1...
}

// add queues the nth send step of the walk whose move will be moves[move].
func (p *stepSends) add(step *campaigns.Step, cd candidate, move, taken, nth int) {
	p.pending = append(p.pending, pendingSend{step: step, cand: cd, move: move, taken: taken, nth: nth})
}

// drop forgets the sends queued since mark (a walk that failed).
func (p *stepSends) drop(mark int) { p.pending = p.pending[:mark] }

// plan writes the ledger rows of every queued send step, fills each taken
// step's DeliveryStatus and returns the moves whose send could not be
// planned (their state stays leased and is retried). Rows are planned in
// rounds, every walk's first send, then every second one..., each round one
// decide per step, so a customer's sends meet the caps in the order their
// walk took them, as when each was planned alone.
func (p *stepSends) plan(ctx context.Context, e *Engine, moves []store.JourneyMove, now time.Time) map[int]error {
	failed := map[int]error{}
	for round := 0; ; round++ {
		var order []*campaigns.Step
		groups := map[*campaigns.Step][]pendingSend{}
		for _, ps := range p.pending {
			if ps.nth != round {
				continue
			}
			if _, ok := groups[ps.step]; !ok {
				order = append(order, ps.step)
			}
			groups[ps.step] = append(groups[ps.step], ps)
		}
		if len(order) == 0 {
			break
		}
		for _, step := range order {
			p.planStep(ctx, e, step, groups[step], moves, now, failed)
		}
	}
	p.pending = p.pending[:0]
	return failed
}

// planStep writes one send step's rows for a group of walks.
func (p *stepSends) planStep(ctx context.Context, e *Engine, step *campaigns.Step, group []pendingSend,
	moves []store.JourneyMove, now time.Time, failed map[int]error) {
	msg := *step.Send.Message
	// The journey's entry holds its holdout and its occurrence rule; the
	// step's rows are keyed by step and visit and go out now.
	msg.Holdout, msg.Occurrence = 0, campaigns.Occurrence{Kind: campaigns.EveryRun}
	cands := make([]candidate, 0, len(group))
	for _, ps := range group {
		if failed[ps.move] == nil { // an earlier send of the walk failed: it is retried whole
			cands = append(cands, ps.cand)
		}
	}
	each, err := e.decideEach(ctx, &msg, 0, cands, now, map[string]int{})
	for _, ps := range group {
		switch {
		case failed[ps.move] != nil:
		case err != nil:
			failed[ps.move] = fmt.Errorf("send step %s: %w", step.ID, err)
		default:
			moves[ps.move].Taken[ps.taken].DeliveryStatus = each[ps.cand.id]
		}
	}
}
