package worker_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/internal/wait"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// This file holds what the acceptance tests of the delivery engine share on
// top of harness_test.go: engines with chosen options, workers that poll
// fast (asynq's default waits up to 1.5 s on an empty queue, which a test
// stepping a fake clock hundreds of times cannot afford), and ledger reads.

// workerConfig tunes acceptWorker. Zero values: concurrency 4, both queues,
// the harness's retry delay (capped at 300 ms), a 2 s shutdown timeout.
type workerConfig struct {
	concurrency     int
	queues          map[string]int
	retryDelay      asynq.RetryDelayFunc
	shutdownTimeout time.Duration
	running         *atomic.Int64 // non-nil: counts the handlers running now
	taskCheck       time.Duration // asynq's poll of empty queues; 0: 10 ms
}

// acceptWorker runs an asynq server for e until the test ends (or stop).
func (b *bundle) acceptWorker(t testing.TB, e *worker.Engine, cfg workerConfig) (stop func()) {
	t.Helper()
	if cfg.concurrency <= 0 {
		cfg.concurrency = 4
	}
	if cfg.queues == nil {
		cfg.queues = map[string]int{worker.QueueDeliver: 6, worker.QueuePlan: 3}
	}
	if cfg.retryDelay == nil {
		cfg.retryDelay = func(n int, err error, task *asynq.Task) time.Duration {
			return min(worker.RetryDelay(n, err, task), 300*time.Millisecond)
		}
	}
	if cfg.shutdownTimeout <= 0 {
		cfg.shutdownTimeout = 2 * time.Second
	}
	srv := asynq.NewServerFromRedisClient(b.rdb, asynq.Config{
		Concurrency:              cfg.concurrency,
		Queues:                   cfg.queues,
		RetryDelayFunc:           cfg.retryDelay,
		IsFailure:                worker.IsFailure,
		ShutdownTimeout:          cfg.shutdownTimeout,
		TaskCheckInterval:        cmp.Or(cfg.taskCheck, 10*time.Millisecond),
		DelayedTaskCheckInterval: 50 * time.Millisecond,
		LogLevel:                 asynqLogLevel(),
	})
	mux := asynq.NewServeMux()
	if cfg.running != nil {
		mux.Use(countRunning(cfg.running))
	}
	e.Register(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(srv.Shutdown) }
	t.Cleanup(stop)
	return stop
}

// countRunning is asynq middleware keeping n at the number of handlers in
// progress: a test waits for it to reach zero, the signal that in-flight
// work is over even when its tasks are gone from Redis.
func countRunning(n *atomic.Int64) asynq.MiddlewareFunc {
	return func(h asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			n.Add(1)
			defer n.Add(-1)
			return h.ProcessTask(ctx, t)
		})
	}
}

// asynqLogLevel shows asynq's warnings with TIDINGS_TEST_LOG set.
func asynqLogLevel() asynq.LogLevel {
	if os.Getenv("TIDINGS_TEST_LOG") != "" {
		return asynq.InfoLevel
	}
	return asynq.FatalLevel
}

// engineWith returns an engine with opts (the quiet logger and the
// harness's unsubscribe URL filled in when unset).
func (b *bundle) engineWith(t testing.TB, opts worker.Options, list ...*campaigns.Campaign) *worker.Engine {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	if opts.ShardSize == 0 {
		opts.ShardSize = 50
	}
	if opts.UnsubscribeURL == nil {
		opts.UnsubscribeURL = func(d *store.Delivery) string { return fmt.Sprintf("https://shop.test/u/%d", d.ID) }
	}
	client := asynq.NewClientFromRedisClient(b.rdb)
	e := worker.NewEngine(b.st, &worker.Enqueuer{Client: client, Redis: b.rdb, Logger: opts.Logger}, b.chans, opts)
	e.SetCampaigns(list)
	return e
}

// deliveries returns a campaign's ledger rows keyed by customer external id,
// only those of the given occurrence when one is given.
// A customer with two rows of one campaign fails the test: the ledger's
// unique key must make that impossible.
func (b *bundle) deliveries(t testing.TB, campaignID string, occurrence ...string) map[string]store.Delivery {
	t.Helper()
	occ := ""
	if len(occurrence) > 0 {
		occ = occurrence[0]
	}
	var rows []struct {
		store.Delivery
		ExternalID string `db:"external_id"`
	}
	err := b.st.DB.SelectContext(context.Background(), &rows, b.st.DB.Rebind(`SELECT d.id, d.campaign_id,
		d.customer_id, d.occurrence, d.channel, d.variant, d.status, d.attempts, d.claim_token, d.provider_id,
		d.error, d.priority, d.capped_class, d.run_id, d.not_before, d.created_at, d.updated_at, d.claimed_at,
		d.sent_at, c.external_id FROM deliveries d JOIN customers c ON c.id = d.customer_id
		WHERE d.campaign_id = ? AND (? = '' OR d.occurrence = ?) ORDER BY d.id`), campaignID, occ, occ)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]store.Delivery, len(rows))
	for _, r := range rows {
		if _, dup := out[r.ExternalID]; dup {
			t.Fatalf("campaign %s has two ledger rows for customer %s", campaignID, r.ExternalID)
		}
		out[r.ExternalID] = r.Delivery
	}
	return out
}

// waitUntil is wait.For: a deadline poll, failing the test with what.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	wait.For(t, timeout, what, cond)
}

// waitSettled waits until the run is evaluated and nothing is due at now
// (bundle.waitRun is this at the bundle's clock).
func (b *bundle) waitSettled(t testing.TB, campaignID, key string, now time.Time, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	var done bool
	var due int
	settled := wait.Until(timeout, func() bool {
		var err error
		if done, err = b.st.RunDone(ctx, campaignID, key); err != nil {
			t.Fatal(err)
		}
		if due, err = b.st.CountDue(ctx, now); err != nil {
			t.Fatal(err)
		}
		return done && due == 0
	})
	if !settled {
		var waiting []int64
		_ = b.st.DB.SelectContext(ctx, &waiting, b.st.DB.Rebind(`SELECT id FROM deliveries
			WHERE campaign_id = ? AND status IN ('pending', 'deferred', 'sending') ORDER BY id`), campaignID)
		t.Fatalf("run %s/%s not settled after %s: evaluated %v, %d due, ledger %v, unfinished rows %v",
			campaignID, key, timeout, done, due, b.counts(t, campaignID), waiting)
	}
}

// waitPlanned waits until the run is evaluated (its rows are written).
func (b *bundle) waitPlanned(t testing.TB, campaignID, key string) {
	t.Helper()
	waitUntil(t, 30*time.Second, "run "+campaignID+"/"+key+" to be planned", func() bool {
		done, err := b.st.RunDone(context.Background(), campaignID, key)
		if err != nil {
			t.Fatal(err)
		}
		return done
	})
}

// receivedBy counts the messages the SMTP server accepted per recipient.
func (b *bundle) receivedBy() map[string]int {
	out := map[string]int{}
	for _, m := range b.smtp.Messages() {
		for _, to := range m.To {
			out[to]++
		}
	}
	return out
}

// flushRedisDB empties the test's own Redis database (FLUSHDB, never
// FLUSHALL: other tests share the server) and puts back redistest's lock
// key in the same transaction, so no other test takes the database.
func flushRedisDB(t testing.TB, rdb redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	const lockKey = "tidings:test:lock" // redistest's
	owner, err := rdb.Get(ctx, lockKey).Result()
	if err != nil {
		t.Fatalf("read redistest lock: %v", err)
	}
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.FlushDB(ctx)
		p.Set(ctx, lockKey, owner, 10*time.Minute)
		return nil
	})
	if err != nil {
		t.Fatalf("flushdb: %v", err)
	}
}

// skewClock is the wall clock moved by an adjustable offset: tests that need
// real time to pass (asynq, SMTP) jump past leases and staleness windows.
type skewClock struct{ offset atomic.Int64 }

func (c *skewClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *skewClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// asynqInspector returns an inspector on the bundle's Redis database.
func asynqInspector(b *bundle) *asynq.Inspector { return asynq.NewInspectorFromRedisClient(b.rdb) }

// waitIdle waits until no task of any queue is pending, running, retrying
// or scheduled to run within the next second: every task that could still
// act (send, defer, hold) has been handled. Tests that prove something did
// NOT happen wait on this instead of sleeping: the work that could have
// done it is over. Tasks scheduled later (a row deferred hours ahead on
// asynq's wall clock) do not count.
func (b *bundle) waitIdle(t testing.TB) {
	t.Helper()
	insp := asynqInspector(b)
	waitUntil(t, 30*time.Second, "the task queues to be idle", func() bool {
		queues, err := insp.Queues()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range queues {
			if !queueIdle(t, insp, q) {
				return false
			}
		}
		return true
	})
}

// queueIdle reports whether queue q holds no task that is due or running.
func queueIdle(t testing.TB, insp *asynq.Inspector, q string) bool {
	info, err := insp.GetQueueInfo(q)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending+info.Active+info.Retry > 0 {
		return false
	}
	if info.Scheduled == 0 {
		return true
	}
	soon := time.Now().Add(time.Second)
	scheduled, err := insp.ListScheduledTasks(q, asynq.PageSize(info.Scheduled))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range scheduled {
		if task.NextProcessAt.Before(soon) {
			return false
		}
	}
	return true
}
