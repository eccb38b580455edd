package redisconn

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/internal/redisserver"
)

// TestParse: one server or a cluster's seed list, with credentials, TLS and
// go-redis's options carried over; what a cluster cannot take is refused
// with the reason.
func TestParse(t *testing.T) {
	cases := []struct {
		url     string
		addrs   []string // want a cluster with these seeds; nil: one server
		addr    string
		db      int
		user    string
		pass    string
		tls     bool
		problem string // non-empty: want an error containing it
	}{
		{url: "redis://127.0.0.1:6379/2", addr: "127.0.0.1:6379", db: 2},
		{url: "rediss://u:p@cache:6380/0", addr: "cache:6380", user: "u", pass: "p", tls: true},
		{url: "redis+cluster://10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002/", addrs: []string{"10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:7002"}},
		{url: "redis+cluster://one:7000", addrs: []string{"one:7000"}},
		{url: "rediss+cluster://app:s%40cret@a:7000,b:7000/0?dial_timeout=3", addrs: []string{"a:7000", "b:7000"},
			user: "app", pass: "s@cret", tls: true},
		{url: "redis+cluster://a:7000,b:7000/3", problem: "database 0 only"},
		{url: "redis+cluster://a:7000,b/", problem: `"b" is not host:port`},
		{url: "redis+cluster://a:7000/?nonsense=1", problem: "unexpected option"},
		{url: "mysql://a:7000", problem: "scheme"},
	}
	for _, c := range cases {
		got, err := Parse(c.url)
		if c.problem != "" {
			if err == nil || !strings.Contains(err.Error(), c.problem) {
				t.Errorf("%s: error %v; want one saying %q", c.url, err, c.problem)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if c.addrs != nil {
			o := got.Cluster
			if o == nil || got.Single != nil {
				t.Errorf("%s: %+v; want a cluster", c.url, got)
				continue
			}
			if !slices.Equal(o.Addrs, c.addrs) || o.Username != c.user || o.Password != c.pass || (o.TLSConfig != nil) != c.tls {
				t.Errorf("%s: seeds %v user %q password %q TLS %v; want %v %q %q %v", c.url, o.Addrs, o.Username,
					o.Password, o.TLSConfig != nil, c.addrs, c.user, c.pass, c.tls)
			}
			continue
		}
		o := got.Single
		if o == nil || got.Cluster != nil {
			t.Errorf("%s: %+v; want one server", c.url, got)
			continue
		}
		if o.Addr != c.addr || o.DB != c.db || o.Username != c.user || o.Password != c.pass || (o.TLSConfig != nil) != c.tls {
			t.Errorf("%s: %+v; want %s db %d user %q TLS %v", c.url, o, c.addr, c.db, c.user, c.tls)
		}
	}
}

// TestClusterClient: a cluster URL gives a cluster client whose keys spread
// over the masters, the pool size set per node, an asynq option of the same
// cluster, and ForEachNode visits every master.
func TestClusterClient(t *testing.T) {
	t.Parallel()
	c := redisserver.StartCluster(t, 3)
	target, err := Parse(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := target.Client(7)
	defer rdb.Close()
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		if err := rdb.Set(ctx, k, k, 0).Err(); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	var nodes, keys int
	if err := ForEachNode(ctx, rdb, func(ctx context.Context, node *redis.Client) error {
		n, err := node.DBSize(ctx).Result()
		nodes, keys = nodes+1, keys+int(n)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if nodes != 3 || keys != 6 {
		t.Errorf("ForEachNode saw %d nodes holding %d keys; want 3 nodes, 6 keys", nodes, keys)
	}
	if got := PoolSize(rdb); got != 7 {
		t.Errorf("pool size %d; want 7", got)
	}
	opt, err := AsynqOpt(rdb, 4)
	if err != nil {
		t.Fatal(err)
	}
	co, ok := opt.(asynq.RedisClusterClientOpt)
	if !ok || len(co.Addrs) != 3 {
		t.Fatalf("asynq option %#v; want the cluster's three seeds", opt)
	}
	insp := asynq.NewInspector(co)
	defer insp.Close()
	if _, err := insp.Queues(); err != nil {
		t.Errorf("inspector on the asynq option: %v", err)
	}
}
