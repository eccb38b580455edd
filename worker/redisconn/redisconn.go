// Package redisconn turns TIDINGS_REDIS_URL into a Redis client: one
// server (redis://) or a Redis Cluster (redis+cluster://host1:port,host2:port/).
// Every Redis client of Tidings is built here, so the queue client, the
// worker server, the inspector, the monitoring UI and Tidings' own keys all
// agree on what the URL names.
//
// On a cluster, asynq keeps each queue's keys under one {hash tag}
// (asynq:{deliver}:...), so a queue lives on one master; Tidings' own
// multi-key script (the task check) passes only keys of one queue.
package redisconn

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// The schemes of TIDINGS_REDIS_URL that name a Redis Cluster by a seed list
// of its nodes: redis+cluster://[user:password@]host1:port,host2:port[/][?options]
// (rediss+cluster:// with TLS). One reachable seed is enough; go-redis learns
// the others from CLUSTER SLOTS.
const (
	ClusterScheme    = "redis+cluster"
	ClusterTLSScheme = "rediss+cluster"
)

// Target is a parsed TIDINGS_REDIS_URL: one server (Single) or a
// cluster (Cluster), exactly one of them set.
type Target struct {
	Single  *redis.Options
	Cluster *redis.ClusterOptions
}

// Parse parses redis://host:port/db (rediss:// with TLS, go-redis's
// options as query parameters) or a cluster's seed list,
// redis+cluster://host1:port,host2:port/ (a cluster has database 0 only).
func Parse(s string) (Target, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != ClusterScheme && scheme != ClusterTLSScheme) {
		opt, err := redis.ParseURL(s)
		if err != nil {
			return Target{}, err
		}
		return Target{Single: opt}, nil
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	user, hosts := "", authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		user, hosts = authority[:i+1], authority[i+1:]
	}
	path, query, _ := strings.Cut(tail, "?")
	if path != "" && path != "/" && path != "/0" {
		return Target{}, fmt.Errorf("a Redis Cluster has database 0 only, got path %q", path)
	}
	seeds := strings.Split(hosts, ",")
	q, err := url.ParseQuery(query)
	if err != nil {
		return Target{}, err
	}
	for _, h := range seeds {
		if host, port, err := net.SplitHostPort(h); err != nil || host == "" || port == "" {
			return Target{}, fmt.Errorf("cluster node %q is not host:port", h)
		}
	}
	for _, h := range seeds[1:] {
		q.Add("addr", h)
	}
	plain := strings.TrimSuffix(scheme, "+cluster") + "://" + user + seeds[0]
	if len(q) > 0 {
		plain += "?" + q.Encode()
	}
	opt, err := redis.ParseClusterURL(plain)
	if err != nil {
		return Target{}, err
	}
	return Target{Cluster: opt}, nil
}

// Addr names the target in messages: host:port, or the cluster's seeds.
func (t Target) Addr() string {
	if t.Cluster != nil {
		return "cluster " + strings.Join(t.Cluster.Addrs, ",")
	}
	return t.Single.Addr
}

// Client returns a client on the target, with poolSize connections (per
// node, on a cluster) when poolSize > 0. It is the one place Tidings builds
// a Redis client: the queue client, the worker server, the inspector and
// Tidings' own keys all share it.
func (t Target) Client(poolSize int) redis.UniversalClient {
	if t.Cluster != nil {
		opt := *t.Cluster
		if poolSize > 0 {
			opt.PoolSize = poolSize
		}
		return redis.NewClusterClient(&opt)
	}
	opt := *t.Single
	if poolSize > 0 {
		opt.PoolSize = poolSize
	}
	return redis.NewClient(&opt)
}

// AsynqOpt gives a library that opens its own connections (asynqmon)
// rdb's connection options, with poolSize connections (per node).
func AsynqOpt(rdb redis.UniversalClient, poolSize int) (asynq.RedisConnOpt, error) {
	switch c := rdb.(type) {
	case *redis.Client:
		o := c.Options()
		return asynq.RedisClientOpt{Network: o.Network, Addr: o.Addr, Username: o.Username, Password: o.Password,
			DB: o.DB, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolSize: poolSize, TLSConfig: o.TLSConfig}, nil
	case *redis.ClusterClient:
		o := c.Options()
		return asynq.RedisClusterClientOpt{Addrs: o.Addrs, MaxRedirects: o.MaxRedirects, Username: o.Username,
			Password: o.Password, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			TLSConfig: o.TLSConfig}, nil
	}
	return nil, fmt.Errorf("unsupported Redis client %T", rdb)
}

// PoolSize is rdb's connection pool size (per node, on a cluster).
func PoolSize(rdb redis.UniversalClient) int {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().PoolSize
	case *redis.ClusterClient:
		return c.Options().PoolSize
	}
	return 0
}

// ForEachNode calls fn with a client on each server behind rdb: the
// server itself, or every node (masters and replicas) of a cluster. Per-node
// commands go through it: CONFIG GET, INFO. fn runs on one node at a time.
func ForEachNode(ctx context.Context, rdb redis.UniversalClient, fn func(ctx context.Context, node *redis.Client) error) error {
	switch c := rdb.(type) {
	case *redis.Client:
		return fn(ctx, c)
	case *redis.ClusterClient:
		var mu sync.Mutex // go-redis calls fn on every node at once
		return c.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return fn(ctx, node)
		})
	}
	return fmt.Errorf("unsupported Redis client %T", rdb)
}
