package redisserver

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/internal/wait"
)

// slots is the number of hash slots of a Redis Cluster.
const slots = 16384

// Cluster is a private Redis Cluster of masters only (no replicas): each
// master a Server in cluster mode holding an equal range of the slots.
type Cluster struct {
	Masters []*Server

	t     testing.TB
	bus   []string        // each master's cluster bus port
	admin []*redis.Client // a client on each master
}

// StartCluster starts masters private redis-servers in cluster mode, gives
// each an equal range of the slots, joins them and waits until every node
// says the cluster is ok. They stop when the test ends.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	for range masters {
		_, bus, _ := net.SplitHostPort(FreeAddr(t))
		// The bus port is named: the default (port+10000) may be taken, or
		// above 65535. A short node timeout makes a dead master visible (the
		// cluster refuses commands) within the drills' outages.
		c.bus = append(c.bus, bus)
		m := Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", bus, "--cluster-node-timeout", "2000")
		c.Masters, c.admin = append(c.Masters, m), append(c.admin, m.Client())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.create(ctx); err != nil {
		t.Fatalf("redisserver: create cluster: %v", err)
	}
	c.waitOK()
	return c
}

// create assigns the slots and introduces every node to the first.
func (c *Cluster) create(ctx context.Context) error {
	for i, m := range c.Masters {
		lo, hi := c.slotRange(i)
		if err := c.admin[i].ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			return fmt.Errorf("%s: add slots %d-%d: %w", m.Addr, lo, hi, err)
		}
		if i == 0 {
			continue
		}
		host, port, _ := net.SplitHostPort(m.Addr)
		if err := c.admin[0].Do(ctx, "CLUSTER", "MEET", host, port, c.bus[i]).Err(); err != nil {
			return fmt.Errorf("meet %s: %w", m.Addr, err)
		}
	}
	return nil
}

// slotRange is the first and last slot of master i.
func (c *Cluster) slotRange(i int) (lo, hi int) {
	return i * slots / len(c.Masters), (i+1)*slots/len(c.Masters) - 1
}

// waitOK waits until every master reports cluster_state:ok and knows all the
// others.
func (c *Cluster) waitOK() {
	c.t.Helper()
	var info string
	ok := wait.UntilEvery(30*time.Second, 50*time.Millisecond, func() bool {
		for _, admin := range c.admin {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			var err error
			info, err = admin.ClusterInfo(ctx).Result()
			cancel()
			if err != nil || !strings.Contains(info, "cluster_state:ok") ||
				!strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(len(c.Masters))+"\r") {
				return false
			}
		}
		return true
	})
	if !ok {
		c.t.Fatalf("redisserver: cluster not ok after 30 s: %s", info)
	}
}

// URL returns the cluster's seed list as TIDINGS_REDIS_URL takes it.
func (c *Cluster) URL() string {
	addrs := make([]string, len(c.Masters))
	for i, m := range c.Masters {
		addrs[i] = m.Addr
	}
	return "redis+cluster://" + strings.Join(addrs, ",") + "/"
}

// Client returns a cluster client, closed when the test ends.
func (c *Cluster) Client() *redis.ClusterClient {
	addrs := make([]string, len(c.Masters))
	for i, m := range c.Masters {
		addrs[i] = m.Addr
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	c.t.Cleanup(func() { rdb.Close() })
	return rdb
}

// FlushAll wipes every key of the cluster: FLUSHALL on every master.
func (c *Cluster) FlushAll(ctx context.Context) error {
	for _, m := range c.Masters {
		if err := m.FlushAll(ctx); err != nil {
			return fmt.Errorf("%s: %w", m.Addr, err)
		}
	}
	return nil
}

// MasterOf returns the master holding key's slot.
func (c *Cluster) MasterOf(ctx context.Context, key string) (*Server, error) {
	slot, err := c.admin[0].ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	for i, m := range c.Masters {
		if lo, hi := c.slotRange(i); int(slot) >= lo && int(slot) <= hi {
			return m, nil
		}
	}
	return nil, fmt.Errorf("slot %d of %s has no master", slot, key)
}

// Restart kills every master (no persistence: every key is lost), waits
// down, starts them again and waits until the cluster is ok.
func (c *Cluster) Restart(down time.Duration) {
	c.t.Helper()
	for _, m := range c.Masters {
		m.stop(syscall.SIGKILL)
	}
	time.Sleep(down) // the outage is the drill
	for _, m := range c.Masters {
		if err := m.start(); err != nil {
			c.t.Fatalf("redisserver: restart %s: %v", m.Addr, err)
		}
	}
	c.waitOK()
}

// RestartMaster kills one master, waits down (the cluster refuses commands
// once it sees the master fail), starts it again with its slots, empty, and
// waits until the cluster is ok.
func (c *Cluster) RestartMaster(m *Server, down time.Duration) {
	c.t.Helper()
	m.Restart(down)
	c.waitOK()
}

// UniversalClient is Client as the interface the queue takes.
func (c *Cluster) UniversalClient() redis.UniversalClient { return c.Client() }
