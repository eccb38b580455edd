package redistest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/internal/redisserver"
	"github.com/tidings-crm/tidings/internal/wait"
	"github.com/tidings-crm/tidings/worker/redisconn"
)

// ClusterURLEnv names a Redis Cluster the tests may use
// (scripts/test-services.sh prints it when TIDINGS_TEST_REDIS_CLUSTER=1).
const ClusterURLEnv = "TIDINGS_TEST_REDIS_CLUSTER_URL"

// Cluster returns a client on an empty Redis Cluster and its URL (as
// TIDINGS_REDIS_URL takes it). A cluster has one database, so a test owns
// all of it: the cluster at TIDINGS_TEST_REDIS_CLUSTER_URL, taken with the
// lock key (tests wait their turn) and flushed on every master before and
// after; without that variable, a private 3-master cluster started for the
// test (about a second; needs redis-server).
func Cluster(t testing.TB) (*redis.ClusterClient, string) {
	t.Helper()
	url := os.Getenv(ClusterURLEnv)
	if url == "" {
		c := redisserver.StartCluster(t, 3)
		return c.Client(), c.URL()
	}
	target, err := redisconn.Parse(url)
	if err != nil || target.Cluster == nil {
		t.Fatalf("%s %q: want redis+cluster://host:port,...: %v", ClusterURLEnv, url, err)
	}
	rdb := target.Client(0).(*redis.ClusterClient)
	ctx := context.Background()
	owner := fmt.Sprintf("%s-%d-%d", t.Name(), os.Getpid(), time.Now().UnixNano())
	if !wait.UntilEvery(3*time.Minute, 200*time.Millisecond, func() bool {
		ok, err := rdb.SetNX(ctx, lockKey, owner, lockTTL).Result()
		if err != nil {
			rdb.Close()
			t.Fatalf("redis cluster at %s is not reachable (%v); start it (TIDINGS_TEST_REDIS_CLUSTER=1 scripts/test-services.sh) or unset %s",
				url, err, ClusterURLEnv)
		}
		return ok
	}) {
		t.Fatalf("redis cluster %s busy with another test for 3 minutes", url)
	}
	flush(t, rdb)
	stop := holdLock(rdb, owner)
	t.Cleanup(func() {
		stop()
		// FLUSHALL also drops the lock key: the cluster is free again.
		if err := rdb.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
			return m.FlushAll(ctx).Err()
		}); err != nil {
			t.Errorf("flush redis cluster: %v", err)
		}
		rdb.Close()
	})
	return rdb, url
}
