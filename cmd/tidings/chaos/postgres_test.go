package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
)

// TestPostgresRestartMidRun is reliability scenario 9 (the restart part):
// the database of a private PostgreSQL cluster crashes (pg_ctl stop -m
// immediate) at 30% of a run and comes back 5 s later. No operator acts: the
// workers' handlers fail, are retried, the pools reconnect, and the run
// completes with every message sent once (or unknown, if a send's outcome
// could not be recorded while the database was down).
func TestPostgresRestartMidRun(t *testing.T) {
	drill(t)
	n := pick(10000, 2000)
	pg := cluster.StartPostgres(t)
	inFlight := 0
	_, rep, recover := faultRun(t, cluster.Options{DatabaseURL: pg.URL()}, n, 2, 0.3, 6*time.Minute, func(c *cluster.Cluster) {
		inFlight = sending(t, c)
		t.Logf("crashing PostgreSQL after %d messages (%d rows sending)", len(c.SMTP.Messages()), inFlight)
		pg.Stop("immediate")
		time.Sleep(5 * time.Second) // the fault: the database stays down 5 s
		pg.Start()
	})
	record(t, "c. PostgreSQL crash+restart at 30%", rep, recover,
		fmt.Sprintf("private cluster, down 5 s; %d unknown rows arrived (sent while the DB was down)", rep.UnknownHit))
}
