package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Task types. Payloads carry ids only, never personal data: Redis is
// transport, the database is the truth (DESIGN.md invariant 1).
const (
	TypeRun          = "campaign:run"   // plan a firing: create the run and its shards
	TypeShard        = "campaign:shard" // evaluate one id range and write ledger rows
	TypeDeliver      = "deliver"        // send one ledger row
	TypeDeliverBatch = "deliver:batch"  // send several ledger rows of one run
)

// Queues, by urgency: delivery work first, so a big planning run never
// starves sends that are already due.
const (
	QueueDeliver = "deliver"
	QueuePlan    = "plan"
)

// TaskCheckInterval is how often an idle worker asks Redis for a task (asynq
// waits 1 s by default): the reaction to an event, which wakes the journeys
// waiting for it, starts within it. One cheap Redis call per interval per
// process.
const TaskCheckInterval = 100 * time.Millisecond

// RunPayload names a campaign firing. Occurrence is the run key (a
// schedule's wall-clock time in its zone, a daily tick, a manual key).
type RunPayload struct {
	Campaign     string    `json:"campaign"`
	Occurrence   string    `json:"occurrence"`
	ScheduledFor time.Time `json:"scheduled_for"`
	// WallKeys is set on every task this version enqueues: its Occurrence
	// is used as given. A run task without it was enqueued by an earlier
	// version, which keyed schedule firings by their UTC instant.
	WallKeys bool `json:"wall_keys,omitempty"`
}

// ShardPayload names one id range of a run.
type ShardPayload struct {
	RunID int64 `json:"run_id"`
	Lo    int64 `json:"lo"`
	Hi    int64 `json:"hi"`
}

// DeliverPayload names one ledger row.
type DeliverPayload struct {
	DeliveryID int64 `json:"delivery_id"`
}

// DeliverBatchPayload names several ledger rows due now.
type DeliverBatchPayload struct {
	IDs []int64 `json:"ids"`
}

// Enqueuer puts tasks on the queue with deterministic task ids, so the same
// work enqueued twice (two schedulers, a retried enqueue, the reconciler)
// exists once. A conflict with an existing task id is success, once Redis
// (when set) confirms the task will really run: remains of a half-evicted
// task are cleared and the task enqueued again.
type Enqueuer struct {
	Client *asynq.Client
	// Redis is the client's Redis, used to verify task-id conflicts; nil
	// trusts every conflict.
	Redis redis.Scripter
	// Logger hears of cleared task remains (Redis evicting keys); nil: the
	// default logger.
	Logger *slog.Logger
}

func (q *Enqueuer) enqueue(ctx context.Context, typ, id, queue string, payload any, opts ...asynq.Option) error {
	_, err := q.enqueueNew(ctx, typ, id, queue, payload, opts...)
	return err
}

// enqueueNew is enqueue that also says whether it created the task (false:
// the task already existed, which is success too).
func (q *Enqueuer) enqueueNew(ctx context.Context, typ, id, queue string, payload any, opts ...asynq.Option) (bool, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return false, err
	}
	task := asynq.NewTask(typ, b)
	opts = append(opts, asynq.TaskID(id), asynq.Queue(queue))
	_, err = q.Client.EnqueueContext(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) && q.Redis != nil {
		live, cerr := taskLive(ctx, q.Redis, queue, id)
		if cerr != nil {
			return false, fmt.Errorf("enqueue %s %s: %w", typ, id, cerr)
		}
		if !live { // remains cleared: enqueue again (a conflict now is a live task)
			cmp.Or(q.Logger, slog.Default()).Warn("task id taken by remains of a lost task (is Redis evicting keys? "+
				"it must run with maxmemory-policy noeviction); cleared and enqueued again", "task", id)
			_, err = q.Client.EnqueueContext(ctx, task, opts...)
		}
	}
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("enqueue %s %s: %w", typ, id, err)
	}
	return true, nil
}

// Run enqueues a campaign firing.
func (q *Enqueuer) Run(ctx context.Context, p RunPayload) error {
	p.WallKeys = true
	return q.enqueue(ctx, TypeRun, "run:"+p.Campaign+":"+p.Occurrence, QueuePlan, p, asynq.MaxRetry(10))
}

// Shard enqueues one id range of a run.
func (q *Enqueuer) Shard(ctx context.Context, p ShardPayload) error {
	return q.enqueue(ctx, TypeShard, fmt.Sprintf("shard:%d:%d", p.RunID, p.Lo), QueuePlan, p, asynq.MaxRetry(10))
}

// Deliver enqueues the send of one ledger row, not before notBefore.
func (q *Enqueuer) Deliver(ctx context.Context, deliveryID int64, notBefore time.Time) error {
	_, err := q.redeliver(ctx, deliveryID, notBefore)
	return err
}

// redeliver is Deliver that says whether it created the task: false when the
// row's task was still queued (the reconciler counts only re-created ones).
func (q *Enqueuer) redeliver(ctx context.Context, deliveryID int64, notBefore time.Time) (bool, error) {
	// The task id names the row and its due time: a deferral enqueued from
	// inside the row's own running task must not collide with that task.
	id := fmt.Sprintf("deliver:%d", deliveryID)
	opts := []asynq.Option{asynq.MaxRetry(maxAttempts)}
	if !notBefore.IsZero() {
		// asynq schedules by whole seconds (it truncates): round up, or the
		// task runs before the row is due, finds it early, and its own
		// re-enqueue collides with itself, stranding the row.
		at := notBefore.Truncate(time.Second)
		if at.Before(notBefore) {
			at = at.Add(time.Second)
		}
		opts = append(opts, asynq.ProcessAt(at))
		id += fmt.Sprintf("@%d", notBefore.Unix())
	}
	return q.enqueueNew(ctx, TypeDeliver, id, QueueDeliver, DeliverPayload{DeliveryID: deliveryID}, opts...)
}

// DeliverBatch enqueues the send of several rows due now.
func (q *Enqueuer) DeliverBatch(ctx context.Context, ids []int64) error {
	if len(ids) == 1 {
		return q.Deliver(ctx, ids[0], time.Time{})
	}
	id := fmt.Sprintf("deliver:%d-%d", ids[0], ids[len(ids)-1])
	return q.enqueue(ctx, TypeDeliverBatch, id, QueueDeliver, DeliverBatchPayload{IDs: ids}, asynq.MaxRetry(maxAttempts))
}

// maxAttempts bounds how often one delivery is tried before it fails.
const maxAttempts = 12

func decode[T any](t *asynq.Task) (T, error) {
	var p T
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, fmt.Errorf("%s: bad payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return p, nil
}
