package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
)

// everyMinuteYAML fires every minute; transactional, so frequency caps do
// not thin the later runs.
const everyMinuteYAML = `id: tick
name: Every minute
trigger: {schedule: {cron: "* * * * *", time_zone: UTC}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
messages:
  email:
    subject: "Tick"
    text: "Hello {{ .external_id }}"
`

// TestTwoSchedulersThreeWorkers is reliability scenarios 10 and 11 with real
// processes: two schedulers and three workers run an every-minute campaign
// (the schedulers have no simulated clock, so real minutes pass: 10 in the
// full form, 2 in the short one). Midway one scheduler is killed with
// SIGKILL and restarted 20 s later. Each tick runs once: one campaign_runs
// row per minute with no minute missed, one ledger row per customer and
// tick, and each message arrives once.
func TestTwoSchedulersThreeWorkers(t *testing.T) {
	drill(t)
	n := pick(500, 100)
	span := pick(10*time.Minute, 2*time.Minute)
	ctx := context.Background()
	c := cluster.New(t, cluster.Options{DatabaseURL: cluster.SharedDatabase(t), Campaigns: map[string]string{"tick.yaml": everyMinuteYAML}})
	c.Seed(ctx, n)
	for range 3 {
		c.Start("worker")
	}
	start := time.Now().UTC()
	s1 := c.Start("scheduler")
	c.Start("scheduler")
	time.Sleep(span / 2)
	s1.Kill()
	t.Logf("killed %s at %s", s1.Name, time.Now().UTC().Format(time.TimeOnly))
	time.Sleep(20 * time.Second)
	s1.Restart()
	time.Sleep(time.Until(start.Add(span)))
	for _, p := range c.Processes() {
		if p.Role == "scheduler" {
			p.Stop()
		}
	}
	stop := time.Now().UTC()

	var keys []string
	if err := c.Store.DB.SelectContext(ctx, &keys,
		`SELECT occurrence FROM campaign_runs WHERE campaign_id = 'tick' ORDER BY occurrence`); err != nil {
		t.Fatal(err)
	}
	// The first tick of a scheduler fires the latest minute (catch-up), so
	// runs span floor(start) .. floor(stop).
	first, last := start.Truncate(time.Minute), stop.Truncate(time.Minute)
	got := map[string]bool{}
	for _, k := range keys {
		at, err := time.Parse("2006-01-02T15:04Z", k)
		if err != nil || at.Before(first) || at.After(last) {
			t.Errorf("run %q is not a minute between %s and %s", k, first.Format(time.TimeOnly), last.Format(time.TimeOnly))
		}
		got[k] = true
	}
	for m := first.Add(time.Minute); m.Before(last); m = m.Add(time.Minute) {
		if k := m.Format("2006-01-02T15:04Z"); !got[k] {
			t.Errorf("tick %s has no run: missed", k)
		}
	}
	var recover time.Duration
	for _, k := range keys {
		counts := c.WaitRun(ctx, "tick", k, 3*time.Minute)
		if rows := counts["sent"] + counts["unknown"]; rows != n {
			t.Errorf("run %s: ledger %v, want %d rows", k, counts, n)
		}
	}
	recover = time.Since(stop)
	c.WaitQueuesIdle(30 * time.Second)
	rep := c.Check(ctx, "tick", len(keys)*n)
	record(t, fmt.Sprintf("e. 2 schedulers+3 workers, %s", span), rep, recover,
		fmt.Sprintf("%d ticks, one run each; scheduler killed midway", len(keys)))
}
