package worker

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// liveTaskScript says whether an asynq task id names a task that will run
// (1), or only remains of one (0), which it then deletes so the id can be
// enqueued again. asynq answers a task-id conflict whenever the task's hash
// exists; under eviction (any maxmemory-policy but noeviction) the hash may
// outlive the list that would run it, or a dequeue of an id whose hash was
// evicted leaves a hash with a state and no message. Either way the id
// conflicts for ever and its delivery stays pending (issue 13).
//
// A task is live when its hash has a message and its id is in the set its
// state names: the pending list (scanned from its oldest end, up to
// ARGV[2] entries; a longer list is trusted), the lease set of active tasks,
// or the scheduled, retry, archived or completed set. A state this script
// does not know (asynq's groups) is trusted. The key layout is asynq
// v0.26's (internal/base); TestTaskCheckParityWithAsynq pins it.
//
// Every key it touches is passed in KEYS, and all of them carry the queue's
// {hash tag}, so on a Redis Cluster they live in one slot and the script runs
// on the node that holds the queue.
//
// KEYS[1] asynq:{<queue>}:t:<id>, then the queue's pending, active, lease,
// scheduled, retry, archived and completed keys (taskKeys); ARGV[1] id;
// ARGV[2] pending entries scanned at most.
var liveTaskScript = redis.NewScript(`
local id, limit = ARGV[1], tonumber(ARGV[2])
local task, pending, active, lease = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local sets = {scheduled = KEYS[5], retry = KEYS[6], archived = KEYS[7], completed = KEYS[8]}
local state = redis.call("HGET", task, "state")
if state and redis.call("HEXISTS", task, "msg") == 1 then
	if state == "pending" then
		if redis.call("LPOS", pending, id, "RANK", -1, "MAXLEN", limit) then return 1 end
		if redis.call("LLEN", pending) > limit then return 1 end
	elseif state == "active" then
		if redis.call("ZSCORE", lease, id) then return 1 end
	elseif sets[state] then
		if redis.call("ZSCORE", sets[state], id) then return 1 end
	else
		return 1
	end
end
redis.call("LREM", pending, 0, id)
redis.call("LREM", active, 0, id)
for _, set in ipairs({lease, KEYS[5], KEYS[6], KEYS[7], KEYS[8]}) do
	redis.call("ZREM", set, id)
end
redis.call("DEL", task)
return 0
`)

// taskKeys are the keys of queue liveTaskScript reads, in its KEYS order.
func taskKeys(queue, id string) []string {
	p := "asynq:{" + queue + "}:"
	return []string{p + "t:" + id, p + "pending", p + "active", p + "lease", p + "scheduled", p + "retry",
		p + "archived", p + "completed"}
}

// pendingScanLimit bounds the pending entries liveTaskScript scans. The
// reconciler's conflicting tasks are old, so near the list's oldest end.
const pendingScanLimit = 1_000_000

// taskLive reports whether task id of queue will run; when it will not, its
// remains are gone when taskLive returns.
func taskLive(ctx context.Context, rdb redis.Scripter, queue, id string) (bool, error) {
	n, err := liveTaskScript.Run(ctx, rdb, taskKeys(queue, id), id, pendingScanLimit).Int()
	if err != nil {
		return false, fmt.Errorf("check task %s: %w", id, err)
	}
	return n == 1, nil
}
