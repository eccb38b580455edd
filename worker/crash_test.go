package worker_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/internal/wait"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// TestWorkerKilledMidSendSendsNoneTwice shuts a worker down while the SMTP
// server hangs after receiving message bodies (no reply to the final "."),
// so its handlers are cancelled mid-send, then starts another worker. Every
// recipient ends with exactly one ledger row, sent or unknown, never two; the
// SMTP server received exactly one message per sent row and none per unknown
// row; and at least one row is unknown (the kill did land mid-send).
func TestWorkerKilledMidSendSendsNoneTwice(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			testKilledMidSend(t, dialect)
		})
	}
}

func testKilledMidSend(t *testing.T, dialect store.Dialect) {
	b := setup(t, dialect)
	const n = 60
	b.addCustomers(t, n, nil)
	c := b.campaign(t, newsletterYAML)
	clock := &skewClock{}
	ctx := context.Background()
	e1 := b.engineWith(t, worker.Options{Now: clock.Now}, c)
	stop1 := b.acceptWorker(t, e1, workerConfig{concurrency: 4, shutdownTimeout: 200 * time.Millisecond})
	const key = "2026-11-23T09:00Z"
	if err := e1.Enqueue(ctx, "news", key, clock.Now()); err != nil {
		t.Fatal(err)
	}
	b.smtp.WaitMessages(t, 10, 30*time.Second)
	b.smtp.HangData(true)
	insp := asynqInspector(b)
	// A task sends a block's messages several at a time: every running
	// task hangs, or every connection of the sender's pool (setup's 4) does.
	waitUntil(t, 10*time.Second, "every running send task to hang in DATA", func() bool {
		info, err := insp.GetQueueInfo(worker.QueueDeliver)
		if err != nil {
			t.Fatal(err)
		}
		held := b.smtp.HeldInData()
		return held > 0 && (held >= info.Active || held == 4)
	})
	stop1() // asynq cancels the hung handlers after its 200 ms shutdown timeout
	// The cancelled handlers record their outcome (unknown: the body was sent
	// and no reply came). If one cannot, its claim expires: the reconciler,
	// past the lease, marks it unknown.
	settled := wait.Until(5*time.Second, func() bool { return b.counts(t, "news")[store.StatusSending] == 0 })
	if !settled {
		t.Log("claims still held after the shutdown; expiring them with the reconciler")
		clock.Advance(3 * time.Minute)
		if _, err := e1.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
	}
	b.smtp.HangData(false) // hung sessions now answer 451: the server keeps nothing of them
	unknownAtKill := b.counts(t, "news")[store.StatusUnknown]

	e2 := b.engineWith(t, worker.Options{Now: clock.Now}, c)
	b.acceptWorker(t, e2, workerConfig{concurrency: 4})
	b.waitSettled(t, "news", key, clock.Now(), 60*time.Second)
	// A reconciler pass past the lease finds nothing left to repair.
	clock.Advance(3 * time.Minute)
	rep, err := e2.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unknown != 0 || rep.Resent != 0 {
		t.Errorf("reconciler after the run: %+v", rep)
	}
	b.waitIdle(t) // anything it re-enqueued has run

	rows := b.deliveries(t, "news")
	got := b.receivedBy()
	counts := map[store.Status]int{}
	for i := 1; i <= n; i++ {
		ext, addr := fmt.Sprintf("c%d", i), fmt.Sprintf("customer%d@example.com", i)
		d, ok := rows[ext]
		if !ok {
			t.Errorf("%s has no ledger row", ext)
			continue
		}
		counts[d.Status]++
		want := map[store.Status]int{store.StatusSent: 1, store.StatusUnknown: 0}
		w, known := want[d.Status]
		if !known {
			t.Errorf("%s: status %s, want sent or unknown", ext, d.Status)
		}
		if got[addr] != w {
			t.Errorf("%s (%s): SMTP server received %d messages, want %d", ext, d.Status, got[addr], w)
		}
	}
	if len(rows) != n || len(b.smtp.Messages()) != counts[store.StatusSent] {
		t.Errorf("ledger %d rows (%v), SMTP %d messages", len(rows), counts, len(b.smtp.Messages()))
	}
	if unknownAtKill == 0 || counts[store.StatusUnknown] != unknownAtKill {
		t.Errorf("unknown rows: %d at the kill, %d at the end; want the same, at least 1", unknownAtKill, counts[store.StatusUnknown])
	}
	t.Logf("ledger after kill and restart: %v", counts)
}

// TestFlushDBMidRunReconcilerCompletes wipes the test's Redis database
// (FLUSHDB) while a run is being planned and sent: the queued shards and
// deliveries are gone and the run stalls. One reconciler pass rebuilds the
// queue from the ledger and the run completes: every customer receives
// exactly one message, none is lost or doubled.
func TestFlushDBMidRunReconcilerCompletes(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			testFlushDB(t, dialect)
		})
	}
}

func testFlushDB(t *testing.T, dialect store.Dialect) {
	b := setup(t, dialect)
	const n = 200
	b.addCustomers(t, n, nil)
	c := b.campaign(t, newsletterYAML)
	clock := &skewClock{}
	ctx := context.Background()
	// Small shards: planning is still going on when the flush comes, so
	// shard tasks are lost as well as deliveries.
	e := b.engineWith(t, worker.Options{Now: clock.Now, ShardSize: 10}, c)
	var running atomic.Int64
	b.acceptWorker(t, e, workerConfig{concurrency: 2, running: &running})
	const key = "2026-11-23T09:00Z"
	if err := e.Enqueue(ctx, "news", key, clock.Now()); err != nil {
		t.Fatal(err)
	}
	b.smtp.WaitMessages(t, 10, 30*time.Second)
	flushRedisDB(t, b.rdb)
	// In-flight sends finish; then nothing moves: the tasks are gone.
	waitUntil(t, 10*time.Second, "in-flight tasks to finish", func() bool {
		return running.Load() == 0 && b.counts(t, "news")[store.StatusSending] == 0
	})
	stalled := len(b.smtp.Messages())
	if stalled >= n {
		t.Fatalf("the run finished before the flush (%d messages); nothing to reconcile", stalled)
	}
	clock.Advance(90 * time.Second) // past the reconciler's staleness window, within the lease
	rep, err := e.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requeued+rep.Shards+rep.Runs == 0 || rep.Unknown != 0 {
		t.Fatalf("reconciler after FLUSHDB: %+v; want work re-enqueued, nothing unknown", rep)
	}
	b.waitSettled(t, "news", key, clock.Now(), 60*time.Second)
	b.waitIdle(t)

	if got := b.counts(t, "news"); got[store.StatusSent] != n || len(got) != 1 {
		t.Fatalf("ledger = %v, want %d sent and nothing else", got, n)
	}
	got := b.receivedBy()
	for i := 1; i <= n; i++ {
		if addr := fmt.Sprintf("customer%d@example.com", i); got[addr] != 1 {
			t.Errorf("%s received %d messages, want 1", addr, got[addr])
		}
	}
	if len(b.smtp.Messages()) != n {
		t.Errorf("SMTP server received %d messages, want %d", len(b.smtp.Messages()), n)
	}
	t.Logf("stalled at %d/%d after FLUSHDB; reconciler: %+v", stalled, n, rep)
}
