package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/internal/redisserver"
)

// Redis is a private redis-server process, so that FLUSHALL, a restart or a
// crash never touches the Redis other tests share.
type Redis = redisserver.Server

// StartRedis starts a private redis-server, stopped when the test ends.
func StartRedis(t testing.TB) *Redis { return redisserver.Start(t) }

// RedisService is the Redis of a cluster's processes: one private server,
// or a private Redis Cluster (Options.RedisCluster).
type RedisService interface {
	// URL is the processes' TIDINGS_REDIS_URL.
	URL() string
	// UniversalClient is a client for the test, closed when it ends.
	UniversalClient() redis.UniversalClient
	// FlushAll wipes every key (on every master of a cluster).
	FlushAll(ctx context.Context) error
	// Restart kills every server, keeps it down that long, and starts it
	// again empty.
	Restart(down time.Duration)
}

// clusterMasters is the size of the private Redis Cluster.
const clusterMasters = 3

func startRedisService(t testing.TB, cluster bool) RedisService {
	if cluster {
		return redisserver.StartCluster(t, clusterMasters)
	}
	return redisserver.Start(t)
}
