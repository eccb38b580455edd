package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// TestKillWorkerMidSend is reliability scenario 1: two workers send a run;
// after 30% of it one of them is killed with SIGKILL and restarted 5 s
// later. Every recipient gets exactly one message, or is marked unknown (the
// kill landed mid-send; unknown rows are not resent by default), and the
// unknown rows are no more than the sends in flight at the kill, nor than
// one block of the killed process.
func TestKillWorkerMidSend(t *testing.T) {
	drill(t)
	n := pick(10000, 2000)
	inFlight := 0
	_, rep, recover := faultRun(t, cluster.Options{}, n, 2, 0.3, 6*time.Minute, func(c *cluster.Cluster) {
		w := c.Processes()[0]
		w.Kill()
		inFlight = sending(t, c)
		t.Logf("killed %s after %d messages; %d rows sending at the kill", w.Name, len(c.SMTP.Messages()), inFlight)
		time.Sleep(5 * time.Second) // the fault: the worker stays dead 5 s
		w.Restart()
	})
	if rep.Unknown > inFlight {
		t.Errorf("%d rows unknown, more than the %d sends in flight at the kill", rep.Unknown, inFlight)
	}
	atMostOneBlockPerKill(t, rep, 1)
	record(t, "a. kill -9 worker at 30%", rep, recover, fmt.Sprintf("in flight at kill: %d", inFlight))
}

// atMostOneBlockPerKill checks the bound docs/campaigns.md gives next to
// resend_unknown: a killed worker process leaves at most one block of rows
// unknown (worker.DefaultBlockRows, the rows a process holds claimed or
// sent but not yet recorded).
func atMostOneBlockPerKill(t *testing.T, rep cluster.Report, kills int) {
	t.Helper()
	if limit := kills * worker.DefaultBlockRows; rep.Unknown > limit {
		t.Errorf("%d rows unknown after %d kills, more than one block (%d rows) per killed process",
			rep.Unknown, kills, worker.DefaultBlockRows)
	}
}

// sending counts the ledger rows being sent right now.
func sending(t *testing.T, c *cluster.Cluster) int {
	t.Helper()
	var n int
	if err := c.Store.DB.GetContext(context.Background(), &n,
		`SELECT count(*) FROM deliveries WHERE status = '`+string(store.StatusSending)+`'`); err != nil {
		t.Fatal(err)
	}
	return n
}
