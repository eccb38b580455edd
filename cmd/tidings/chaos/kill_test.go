package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
	"github.com/tidings-crm/tidings/store"
)

// TestKillWorkerMidSend is reliability scenario 1: two workers send a run;
// after 30% of it one of them is killed with SIGKILL and restarted 5 s
// later. Every recipient gets exactly one message, or is marked unknown (the
// kill landed mid-send; unknown rows are not resent by default), and the
// unknown rows are no more than the sends in flight at the kill.
func TestKillWorkerMidSend(t *testing.T) {
	drill(t)
	n := pick(10000, 2000)
	ctx := context.Background()
	c := cluster.New(t, cluster.Options{})
	c.Seed(ctx, n)
	w1 := c.Start("worker")
	c.Start("worker")
	const key = "drill-kill"
	c.Trigger(ctx, "news", key)
	c.WaitSent(n*30/100, 3*time.Minute)
	w1.Kill()
	counts, err := c.Counts(ctx, "news", key)
	if err != nil {
		t.Fatal(err)
	}
	inFlight := counts[store.StatusSending]
	t.Logf("killed %s after %d messages; %d rows sending at the kill", w1.Name, len(c.SMTP.Messages()), inFlight)
	time.Sleep(5 * time.Second)
	w1.Restart()
	restarted := time.Now()
	c.WaitRun(ctx, "news", key, 6*time.Minute)
	recover := time.Since(restarted)
	rep := c.Check(ctx, "news", n)
	if rep.Unknown > inFlight {
		t.Errorf("%d rows unknown, more than the %d sends in flight at the kill", rep.Unknown, inFlight)
	}
	record(t, "a. kill -9 worker at 30%", rep, recover, fmt.Sprintf("in flight at kill: %d", inFlight))
}
