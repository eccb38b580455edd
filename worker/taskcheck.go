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
// ARGV[3] entries; a longer list is trusted), the lease set of active tasks,
// or the scheduled, retry, archived or completed set. A state this script
// does not know (asynq's groups) is trusted. The key layout is asynq
// v0.26's (internal/base); TestTaskCheckParityWithAsynq pins it.
//
// KEYS[1] asynq:{<queue>}:t:<id>; ARGV[1] id; ARGV[2] asynq:{<queue>}:;
// ARGV[3] pending entries scanned at most.
var liveTaskScript = redis.NewScript(`
local id, p = ARGV[1], ARGV[2]
local state = redis.call("HGET", KEYS[1], "state")
if state and redis.call("HEXISTS", KEYS[1], "msg") == 1 then
	if state == "pending" then
		if redis.call("LPOS", p .. "pending", id, "RANK", -1, "MAXLEN", ARGV[3]) then return 1 end
		if redis.call("LLEN", p .. "pending") > tonumber(ARGV[3]) then return 1 end
	elseif state == "active" then
		if redis.call("ZSCORE", p .. "lease", id) then return 1 end
	elseif state == "scheduled" or state == "retry" or state == "archived" or state == "completed" then
		if redis.call("ZSCORE", p .. state, id) then return 1 end
	else
		return 1
	end
end
redis.call("LREM", p .. "pending", 0, id)
redis.call("LREM", p .. "active", 0, id)
for _, set in ipairs({"lease", "scheduled", "retry", "archived", "completed"}) do
	redis.call("ZREM", p .. set, id)
end
redis.call("DEL", KEYS[1])
return 0
`)

// pendingScanLimit bounds the pending entries liveTaskScript scans. The
// reconciler's conflicting tasks are old, so near the list's oldest end.
const pendingScanLimit = 1_000_000

// taskLive reports whether task id of queue will run; when it will not, its
// remains are gone when taskLive returns.
func taskLive(ctx context.Context, rdb redis.Scripter, queue, id string) (bool, error) {
	prefix := "asynq:{" + queue + "}:"
	n, err := liveTaskScript.Run(ctx, rdb, []string{prefix + "t:" + id}, id, prefix, pendingScanLimit).Int()
	if err != nil {
		return false, fmt.Errorf("check task %s: %w", id, err)
	}
	return n == 1, nil
}
