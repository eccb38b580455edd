package worker

import (
	"context"
	"testing"
	"time"
)

// TestClaimBudgetBoundsTheRowsHeld checks the crash bound's accounting: the
// runs of an engine together never hold more rows than its budget, a run
// tops up with free tokens without waiting, waits only when it holds none
// (so no run waits while holding what another waits for), and a block is
// sized from the measured pace of sends.
func TestClaimBudgetBoundsTheRowsHeld(t *testing.T) {
	t.Parallel()
	b := newClaimBudget(5, 50*time.Millisecond, 2)
	ctx := context.Background()
	a, c := sendRun{budget: b}, sendRun{budget: b}
	if k, err := a.take(ctx, 4); err != nil || k != 4 {
		t.Fatalf("first take = %d, %v; want 4", k, err)
	}
	if k, err := c.take(ctx, 4); err != nil || k != 1 {
		t.Fatalf("second take = %d, %v; want the 1 row left", k, err)
	}
	// A third run holds nothing and the budget is spent: it waits.
	waiter := sendRun{budget: b}
	got := make(chan int)
	go func() {
		k, _ := waiter.take(ctx, 3)
		got <- k
	}()
	select {
	case k := <-got:
		t.Fatalf("a run took %d rows of a spent budget", k)
	case <-time.After(50 * time.Millisecond):
	}
	// Run a claimed 2 of its 4 rows: it gives 2 back, the waiter gets
	// one at once and no more than are free.
	a.keep(2)
	if k := <-got; k != 1 {
		t.Fatalf("the waiting run took %d, want 1", k)
	}
	if held := a.held + c.held + waiter.held; held+len(b.tokens) != 5 || held != 4 {
		t.Fatalf("runs hold %d, %d free; want 4 held, 5 in all", held, len(b.tokens))
	}
	// A run holding tokens reuses them for its next block, even with none free.
	if k, err := a.take(ctx, 3); err != nil || k != 3 || len(b.tokens) != 0 {
		t.Fatalf("take while holding 2 = %d, %v, %d free; want 3, none free", k, err, len(b.tokens))
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (&sendRun{budget: b}).take(cancelled, 1); err == nil {
		t.Fatal("a take from a spent budget with its context done returned no error")
	}
	for _, r := range []*sendRun{&a, &c, &waiter} {
		r.keep(0)
	}
	if len(b.tokens) != 5 {
		t.Fatalf("%d tokens free after every run gave back, want 5", len(b.tokens))
	}

	// Block size: one round of parallel sends (2 here) before any send was
	// timed, then about 50 ms of sends at the measured pace of a round,
	// between one round and the budget.
	if w := b.want(); w != 2 {
		t.Fatalf("want before any send = %d, want one round (2)", w)
	}
	b.observe(40*time.Millisecond, 3) // 2 rounds of 20 ms
	if w := b.want(); w != 5 {
		t.Fatalf("want at 20 ms a round of 2 = %d, want 5 (2.5 rounds, up to the budget)", w)
	}
	b.perRound.Store(int64(25 * time.Millisecond))
	if w := b.want(); w != 4 {
		t.Fatalf("want at 25 ms a round of 2 = %d, want 4", w)
	}
	b.perRound.Store(int64(time.Second))
	if w := b.want(); w != 2 {
		t.Fatalf("want at 1 s a round = %d, want one round (2)", w)
	}
}

// TestClaimBudgetAdmitsFewSenders: the default budget admits four tasks to
// claim and send at once, the fifth waits until one leaves (or its context
// ends), and a block is at most an admitted task's share of the budget.
func TestClaimBudgetAdmitsFewSenders(t *testing.T) {
	t.Parallel()
	b := newClaimBudget(DefaultBlockRows, DefaultBlockTime, DefaultSendParallel)
	ctx := context.Background()
	var leaves []func()
	for range 4 {
		leave, err := b.admit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, leave)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := b.admit(short); err == nil {
		t.Fatal("a fifth task was admitted while four send")
	}
	admitted := make(chan func())
	go func() {
		leave, _ := b.admit(ctx)
		admitted <- leave
	}()
	leaves[0]()
	for _, leave := range append(leaves[1:], <-admitted) {
		leave()
	}
	b.perRound.Store(int64(time.Millisecond)) // fast sends: the block grows to the share
	if w := b.want(); w != DefaultBlockRows/4 {
		t.Fatalf("want with fast sends = %d, want an admitted task's share, %d", w, DefaultBlockRows/4)
	}
}
