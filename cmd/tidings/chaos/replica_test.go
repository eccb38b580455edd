package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestReplicaStoppedMidRun stops the read replica (TIDINGS_DATABASE_READ_URL)
// in the middle of a run: two workers read audiences from a hot standby of a
// private PostgreSQL cluster. At 30% of a first run's sends the replica
// crashes (pg_ctl stop -m immediate) just as a second run is fired, a third
// run is fired while it is down, and it comes back 5 s later. The first
// run's rows are on the primary and go on being sent; the second and third
// runs read their audience from the primary instead (a fallback the workers
// log). Every run completes with each customer's message sent once.
func TestReplicaStoppedMidRun(t *testing.T) {
	drill(t)
	n := pick(10000, 2000)
	pg := cluster.StartPostgres(t)
	replica := pg.StartReplica(t)
	c := cluster.New(t, cluster.Options{DatabaseURL: pg.URL(), Env: []string{"TIDINGS_DATABASE_READ_URL=" + replica.URL()}})
	ctx := context.Background()
	c.Seed(ctx, n)
	storetest.OpenReplica(t, pg.URL(), replica.URL()).CatchUp() // the audience is on the replica
	for range 2 {
		c.Start("worker")
	}
	c.Trigger(ctx, "news", "replica-1")
	c.WaitSent(int(float64(n)*0.3), 3*time.Minute)
	t.Logf("crashing the read replica after %d messages", len(c.SMTP.Messages()))
	c.Trigger(ctx, "news", "replica-2") // its audience may be streaming as the replica dies
	replica.Stop("immediate")
	c.Trigger(ctx, "news", "replica-3") // read while the replica is down
	time.Sleep(5 * time.Second)
	replica.Start()
	over := time.Now()
	for _, key := range []string{"replica-1", "replica-2", "replica-3"} {
		c.WaitRun(ctx, "news", key, 6*time.Minute)
	}
	recover := time.Since(over)
	c.WaitQueuesIdle(cluster.TaskSettle)
	rep := c.Check(ctx, "news", 3*n)
	fallbacks := 0
	for _, p := range c.Processes() {
		fallbacks += strings.Count(p.Log(), "read replica failed")
	}
	if fallbacks == 0 {
		t.Errorf("no worker logged a fallback to the primary, yet a run was read while the replica was down")
	}
	if rep.Unknown != 0 {
		t.Errorf("%d rows unknown: no worker died, none should be", rep.Unknown)
	}
	record(t, "c. read replica crash mid-run", rep, recover,
		fmt.Sprintf("3 runs of %d, down 5 s; %d fallbacks to the primary logged", n, fallbacks))
}
