package worker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// A deliver task sends its rows in blocks: one statement claims a block
// (store.SettleAndClaim, every check of a single claim kept), its messages
// go out several at a time, and the "sent" outcomes are recorded as a group
// by the statement that claims the next block, or at the end of the task.
// A message then costs a fraction of a statement instead of one of its own.
//
// The bound after a crash: an engine (a worker process) holds at most
// BlockRows rows claimed or sent but not yet recorded, across all its
// workers (claimBudget), and a block is sized to about BlockTime of sends.
// A process killed at any moment leaves at most that many rows "sending",
// which the reconciler then marks unknown (docs/campaigns.md, resend_unknown).

// Defaults of Options.BlockRows, BlockTime and SendParallel.
const (
	DefaultBlockRows    = 200
	DefaultBlockTime    = 50 * time.Millisecond
	DefaultSendParallel = 8
)

// readyRow is a due row that passed the checks made before its claim (pause,
// exit condition, address, the clock), with what its send needs.
type readyRow struct {
	d     *store.Delivery
	c     *campaigns.Campaign
	cust  *store.Customer
	to    string
	check store.Check
}

// claimBudget bounds the rows an engine holds claimed and not yet recorded
// (a token each), and sizes blocks from the measured time of a send.
type claimBudget struct {
	tokens chan struct{}
	// senders admits the tasks that may claim and send at once. Without it
	// every running task (a process runs dozens) takes a share of the
	// tokens and blocks shrink to a few rows: a statement per few
	// messages. With it a few tasks send large blocks, and the others wait
	// their turn holding no token.
	senders  chan struct{}
	max      int
	target   time.Duration
	perRound atomic.Int64 // moving average of the wall time of a round of parallel sends, ns
	parallel int
}

func newClaimBudget(rows int, target time.Duration, parallel int) *claimBudget {
	b := &claimBudget{tokens: make(chan struct{}, rows), max: rows, target: target, parallel: parallel,
		senders: make(chan struct{}, max(1, rows/blockShare))}
	for range rows {
		b.tokens <- struct{}{}
	}
	return b
}

// blockShare is the rows of the budget per task admitted to send at once:
// the default 200 admits 4 tasks, each sending SendParallel messages at a
// time, in blocks of up to 50 rows.
const blockShare = 50

// admit waits until the task may claim and send; the returned func lets
// the next one in. A task admitted holds no other task's turn: it records
// its outcomes and gives its tokens back before it leaves.
func (b *claimBudget) admit(ctx context.Context) (leave func(), err error) {
	select {
	case b.senders <- struct{}{}:
		return func() { <-b.senders }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// want is the size of the next block: about target of sends at the measured
// pace of a round of parallel sends, at least one round (a round takes as
// long for one row as for parallel rows) and at most max rows.
func (b *claimBudget) want() int {
	round := b.perRound.Load()
	if round <= 0 {
		return min(b.parallel, b.max)
	}
	share := max(1, b.max/cap(b.senders))
	return max(min(b.parallel, share), min(share, int(int64(b.parallel)*int64(b.target)/round)))
}

// observe records that rows were sent in took, parallel at a time.
func (b *claimBudget) observe(took time.Duration, rows int) {
	rounds := (rows + b.parallel - 1) / b.parallel
	per := int64(took) / int64(rounds)
	for {
		old := b.perRound.Load()
		next := per
		if old > 0 {
			next = (4*old + per) / 5
		}
		if b.perRound.CompareAndSwap(old, next) {
			return
		}
	}
}

// sendRun is the state of one deliver task: the tokens of the budget it
// holds (at least as many as its rows claimed or parked) and the "sent"
// outcomes parked for the next block's claim.
type sendRun struct {
	budget *claimBudget
	held   int
	mu     sync.Mutex // guards parked: a block's messages are sent concurrently
	parked []store.Outcome
}

// take returns how many rows the next block may claim, at most want: the
// tokens the run holds, topped up with free ones; it waits only when it
// holds none, so a run never waits while holding what others wait for.
func (sr *sendRun) take(ctx context.Context, want int) (int, error) {
	for sr.held < want {
		select {
		case <-sr.budget.tokens:
			sr.held++
			continue
		default:
		}
		break
	}
	if sr.held == 0 {
		select {
		case <-sr.budget.tokens:
			sr.held = 1
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return min(sr.held, want), nil
}

// keep gives back the tokens beyond n, the rows the run now holds.
func (sr *sendRun) keep(n int) {
	for ; sr.held > n; sr.held-- {
		sr.budget.tokens <- struct{}{}
	}
}

func (sr *sendRun) park(o store.Outcome) {
	sr.mu.Lock()
	sr.parked = append(sr.parked, o)
	sr.mu.Unlock()
}

// takeParked returns the parked outcomes and empties the list.
func (sr *sendRun) takeParked() []store.Outcome {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	p := sr.parked
	sr.parked = nil
	return p
}

// sendBlocks claims and sends ready, a block at a time.
func (e *Engine) sendBlocks(ctx context.Context, sr *sendRun, ready []readyRow) error {
	for len(ready) > 0 {
		k, err := sr.take(ctx, len(ready))
		if err != nil {
			return err
		}
		if err := e.sendBlock(ctx, sr, ready[:k]); err != nil {
			return err
		}
		ready = ready[k:]
	}
	return nil
}

// sendBlock records the parked outcomes and claims block in one go, then
// sends the claimed rows, up to SendParallel at once. Rows it claimed but
// could not send (shutdown, a database error) are handed back.
func (e *Engine) sendBlock(ctx context.Context, sr *sendRun, block []readyRow) (err error) {
	claim := make([]store.BlockRow, len(block))
	for i, r := range block {
		claim[i] = store.BlockRow{ID: r.d.ID, Check: r.check}
	}
	token, now := newToken(), e.now()
	parked := sr.takeParked()
	res, err := e.st.SettleAndClaim(ctx, parked, token, claim, now)
	if err != nil {
		sr.mu.Lock()
		sr.parked = append(parked, sr.parked...) // not written: flushed at the end of the task
		sr.mu.Unlock()
		return err
	}
	e.settled(parked, res.Recorded)
	sr.keep(len(res.Claimed))
	var claimed []readyRow
	for _, r := range block {
		attempts, ok := res.Claimed[r.d.ID]
		if !ok {
			if err := e.notClaimed(ctx, r.d.ID, r.check, now); err != nil {
				e.releaseUnsent(ctx, token, block)
				return err
			}
			continue
		}
		d := *r.d
		d.Status, d.Attempts, d.ClaimToken, d.ClaimedAt = store.StatusSending, attempts, &token, &now
		r.d = &d
		claimed = append(claimed, r)
	}
	started := time.Now()
	unsent, err := e.sendClaimed(ctx, sr, token, claimed)
	if len(unsent) > 0 {
		e.releaseUnsent(ctx, token, unsent)
	}
	if sent := len(claimed) - len(unsent); sent > 0 {
		e.blocks.observe(time.Since(started), sent)
	}
	return err
}

// sendClaimed sends the claimed rows, up to SendParallel at once, and
// records each outcome; after an error (the database, or shutdown) it
// starts no further send and returns the rows it did not send.
func (e *Engine) sendClaimed(ctx context.Context, sr *sendRun, token string, claimed []readyRow) ([]readyRow, error) {
	var (
		mu      sync.Mutex
		next    int
		firstEr error
		unsent  []readyRow
		wg      sync.WaitGroup
	)
	work := func() {
		defer wg.Done()
		for {
			mu.Lock()
			if next == len(claimed) {
				mu.Unlock()
				return
			}
			r := claimed[next]
			next++
			if firstEr == nil {
				firstEr = ctx.Err() // shutting down: the rest go back unsent
			}
			if firstEr != nil {
				unsent = append(unsent, r)
				mu.Unlock()
				continue
			}
			mu.Unlock()
			if err := e.record(ctx, sr, r.d, token, e.send(ctx, r.c, r.d, r.cust, r.to, e.now())); err != nil {
				mu.Lock()
				if firstEr == nil {
					firstEr = err
				}
				mu.Unlock()
			}
		}
	}
	n := min(len(claimed), e.blocks.parallel)
	wg.Add(n)
	for range n - 1 {
		go work()
	}
	work()
	wg.Wait()
	return unsent, firstEr
}

// releaseUnsent hands back the rows of a block that were claimed under
// token but not sent; the rows not claimed under token are left alone.
func (e *Engine) releaseUnsent(ctx context.Context, token string, rows []readyRow) {
	if len(rows) == 0 {
		return
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.d.ID
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := e.st.ReleaseBlock(wctx, ids, token, "interrupted before the send", e.now()); err != nil {
		e.opts.Logger.Error("claimed rows not handed back; the reconciler settles them when their claim expires",
			"deliveries", len(ids), "err", err)
	}
}

// flushParked records the parked outcomes that no next claim will carry,
// and gives the run's tokens back.
func (e *Engine) flushParked(ctx context.Context, sr *sendRun) error {
	defer sr.keep(0)
	parked := sr.takeParked()
	if len(parked) == 0 {
		return nil
	}
	// The outcomes must be recorded even when the task's context ended.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	res, err := e.st.SettleAndClaim(wctx, parked, "", nil, e.now())
	if err != nil {
		return err
	}
	e.settled(parked, res.Recorded)
	return nil
}

// settled follows the grouped write of "sent" outcomes: a warning for each
// whose claim had been taken over. (The outgoing webhook of each recorded
// send was written with it, in SettleAndClaim's transaction.)
func (e *Engine) settled(outs []store.Outcome, recorded map[int64]bool) {
	for _, o := range outs {
		if !recorded[o.ID] {
			e.opts.Logger.Warn("delivery outcome not recorded: the claim was taken over", "delivery", o.ID, "status", o.Status)
		}
	}
}
