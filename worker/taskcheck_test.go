package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/internal/wait"
	"github.com/tidings-crm/tidings/worker/redistest"
)

const checkQueue = "check"

// checkBackends runs test on the test Redis, on the embedded server
// (miniredis, which `TIDINGS_REDIS_URL=embedded` runs) and on a Redis
// Cluster (where a script may touch only the keys it declares, all in one
// slot): the script must work on all three.
func checkBackends(t *testing.T, test func(t *testing.T, rdb redis.UniversalClient)) {
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		rdb, _ := redistest.Client(t)
		test(t, rdb)
	})
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		mr := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { rdb.Close() })
		test(t, rdb)
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		rdb, _ := redistest.Cluster(t)
		test(t, rdb)
	})
}

// taskIn enqueues a task of type typ with id on the check queue.
func taskIn(t *testing.T, c *asynq.Client, typ, id string, opts ...asynq.Option) {
	t.Helper()
	opts = append(opts, asynq.TaskID(id), asynq.Queue(checkQueue), asynq.MaxRetry(3))
	if _, err := c.Enqueue(asynq.NewTask(typ, nil), opts...); err != nil {
		t.Fatal(err)
	}
}

// waitState waits until asynq reports the task in state.
func waitState(t *testing.T, insp *asynq.Inspector, id string, state asynq.TaskState) {
	t.Helper()
	var info *asynq.TaskInfo
	var err error
	if !wait.Until(15*time.Second, func() bool {
		info, err = insp.GetTaskInfo(checkQueue, id)
		return err == nil && info.State == state
	}) {
		t.Fatalf("task %s not %s after 15 s (%v, %v)", id, state, info, err)
	}
}

// TestTaskCheckParityWithAsynq: a task asynq holds in any state (pending,
// scheduled, active, retry, archived, completed) is live to taskLive, which
// leaves it untouched; this pins the key layout taskLive reads to asynq's.
func TestTaskCheckParityWithAsynq(t *testing.T) {
	t.Parallel()
	checkBackends(t, testTaskCheckParity)
}

func testTaskCheckParity(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	client, insp := asynq.NewClientFromRedisClient(rdb), asynq.NewInspectorFromRedisClient(rdb)
	release := make(chan struct{})
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: 2, Queues: map[string]int{checkQueue: 1},
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return time.Hour }, LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc("fail", func(context.Context, *asynq.Task) error { return errors.New("fails") })
	mux.HandleFunc("block", func(ctx context.Context, _ *asynq.Task) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	mux.HandleFunc("ok", func(context.Context, *asynq.Task) error { return nil })
	taskIn(t, client, "ok", "scheduled", asynq.ProcessIn(time.Hour))
	taskIn(t, client, "ok", "archived", asynq.ProcessIn(time.Hour))
	if err := insp.ArchiveTask(checkQueue, "archived"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	defer close(release)
	taskIn(t, client, "block", "active")
	taskIn(t, client, "fail", "retry")
	taskIn(t, client, "ok", "completed", asynq.Retention(time.Hour))
	waitState(t, insp, "active", asynq.TaskStateActive)
	waitState(t, insp, "retry", asynq.TaskStateRetry)
	waitState(t, insp, "completed", asynq.TaskStateCompleted)
	// Pending last, once the server is busy: a paused queue keeps it pending.
	if err := insp.PauseQueue(checkQueue); err != nil {
		t.Fatal(err)
	}
	taskIn(t, client, "ok", "pending")

	for _, id := range []string{"pending", "scheduled", "active", "retry", "archived", "completed"} {
		before, err := insp.GetTaskInfo(checkQueue, id)
		if err != nil {
			t.Fatal(err)
		}
		live, err := taskLive(ctx, rdb, checkQueue, id)
		if err != nil || !live {
			t.Errorf("%s task: live = %v, %v; want live", id, live, err)
			continue
		}
		if after, err := insp.GetTaskInfo(checkQueue, id); err != nil || after.State != before.State {
			t.Errorf("%s task after the check: %v, %v; want it untouched", id, after, err)
		}
	}
}

// TestTaskCheckClearsRemainsOfEvictedTasks: ids whose task can no longer run
// (its hash evicted and the id then dequeued; its pending list or scheduled
// set evicted) are not live, and taskLive clears their remains so the id can
// be enqueued again.
func TestTaskCheckClearsRemainsOfEvictedTasks(t *testing.T) {
	t.Parallel()
	checkBackends(t, testTaskCheckClears)
}

func testTaskCheckClears(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	client := asynq.NewClientFromRedisClient(rdb)
	prefix := "asynq:{" + checkQueue + "}:"
	cases := []struct {
		name  string
		opts  []asynq.Option
		evict func(id string)
	}{
		{"hash evicted, then dequeued", nil, func(id string) {
			rdb.Del(ctx, prefix+"t:"+id)
			dequeueLikeAsynq(t, rdb, prefix)
		}},
		{"pending list evicted", nil, func(string) { rdb.Del(ctx, prefix+"pending") }},
		{"scheduled set evicted", []asynq.Option{asynq.ProcessIn(time.Hour)}, func(string) { rdb.Del(ctx, prefix+"scheduled") }},
	}
	for _, tc := range cases {
		id := "evicted-" + tc.name
		taskIn(t, client, "ok", id, tc.opts...)
		tc.evict(id)
		if _, err := client.Enqueue(asynq.NewTask("ok", nil), asynq.TaskID(id), asynq.Queue(checkQueue)); !errors.Is(err, asynq.ErrTaskIDConflict) {
			t.Fatalf("%s: enqueue = %v; want the conflict that stranded deliveries", tc.name, err)
		}
		live, err := taskLive(ctx, rdb, checkQueue, id)
		if err != nil || live {
			t.Fatalf("%s: live = %v, %v; want not live", tc.name, live, err)
		}
		if n := rdb.Exists(ctx, prefix+"t:"+id).Val(); n != 0 {
			t.Errorf("%s: the task hash is still there", tc.name)
		}
		if _, err := client.Enqueue(asynq.NewTask("ok", nil), asynq.TaskID(id), asynq.Queue(checkQueue)); err != nil {
			t.Errorf("%s: enqueue after the check: %v", tc.name, err)
		}
	}
}

// dequeueLikeAsynq runs asynq's own dequeue of the oldest pending id on a
// server: with the id's hash evicted it leaves a hash holding only a state.
func dequeueLikeAsynq(t *testing.T, rdb redis.UniversalClient, prefix string) {
	t.Helper()
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: 1, Queues: map[string]int{checkQueue: 1},
		LogLevel: asynq.FatalLevel})
	if err := srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	wait.For(t, 15*time.Second, "asynq to dequeue the id", func() bool {
		return rdb.LLen(context.Background(), prefix+"pending").Val() == 0
	})
}
