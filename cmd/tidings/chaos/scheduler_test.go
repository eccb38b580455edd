package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
	"github.com/tidings-crm/tidings/worker"
)

// tickYAML fires every {{period}} minutes; transactional, so with the
// drills' policy (cluster.DrillPolicy) no frequency cap thins the later runs.
const tickYAML = `id: tick
name: Ticks through a simulated day
trigger: {schedule: {cron: "*/%d * * * *", time_zone: UTC}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
messages:
  email:
    subject: "Tick"
    text: "Hello {{ .external_id }}"
`

// TestTwoSchedulersThreeWorkers is reliability scenarios 10 and 11 with real
// processes: two schedulers and three workers run a day of simulated cron
// ticks. The schedulers share one simulated clock (TIDINGS_SIMULATED_CLOCK:
// the full form runs the day in 5 minutes with a tick every 5 simulated
// minutes, 288 ticks; the short form in 1 minute, every 15, 96 ticks); the
// workers keep the wall clock. Midway one scheduler is killed with SIGKILL
// and restarted 20 s later. Each tick runs once: one campaign_runs row per
// tick with none missed, one ledger row per customer and tick, and each
// message arrives once.
func TestTwoSchedulersThreeWorkers(t *testing.T) {
	drill(t)
	n := pick(50, 10)
	period := pick(5, 15) // simulated minutes between ticks
	span := pick(5*time.Minute, time.Minute)
	ctx := context.Background()
	c := cluster.New(t, cluster.Options{DatabaseURL: cluster.SharedDatabase(t),
		Campaigns: map[string]string{"tick.yaml": fmt.Sprintf(tickYAML, period)}})
	c.Seed(ctx, n)
	for range 3 {
		c.Start("worker")
	}
	// The simulated day starts 10 s from now: the schedulers are up by then
	// even on a loaded machine (what they tick before is pre-roll).
	clock := worker.SimClock{Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Anchor: time.Now().Add(10 * time.Second),
		Speed: float64(24*time.Hour) / float64(span)}
	simClock := "TIDINGS_SIMULATED_CLOCK=" + clock.String()
	began := clock.Now() // a little before clock.Start: the schedulers start before the anchor
	s1 := c.Start("scheduler", simClock)
	c.Start("scheduler", simClock)
	// The drill is wall time on a fast clock: the schedulers tick through
	// the first half of the simulated day, one is down for 20 s, and both
	// tick to its end. These sleeps are the scenario, not waits for a result.
	time.Sleep(time.Until(clock.Anchor.Add(span / 2)))
	s1.Kill()
	t.Logf("killed %s at simulated %s", s1.Name, clock.Now().Format(time.TimeOnly))
	time.Sleep(20 * time.Second)
	s1.Restart()
	time.Sleep(time.Until(clock.Anchor.Add(span)))
	for _, p := range c.Processes() {
		if p.Role == "scheduler" {
			p.Stop()
		}
	}
	stop := clock.Now()
	// A run's campaign_runs row is written when a worker takes its task:
	// let the workers take the schedulers' last enqueues before listing.
	c.WaitQueuesEmpty(3 * time.Minute)

	var keys []string
	if err := c.Store.DB.SelectContext(ctx, &keys,
		`SELECT occurrence FROM campaign_runs WHERE campaign_id = 'tick' ORDER BY occurrence`); err != nil {
		t.Fatal(err)
	}
	// Runs may span floor(began) .. floor(stop) to the period (a
	// scheduler's first tick catches up the firing just before it came
	// up); every tick of the simulated day itself must have run.
	every := time.Duration(period) * time.Minute
	first, last := began.Truncate(every), stop.Truncate(every)
	got := map[string]bool{}
	for _, k := range keys {
		at, zone, err := campaigns.ParseScheduleKey(k) // the tick's wall clock in UTC: its instant
		if err != nil || zone != "UTC" || at.Before(first) || at.After(last) || at.Sub(at.Truncate(every)) != 0 {
			t.Errorf("run %q is not a tick between %s and %s", k, first.Format(time.DateTime), last.Format(time.DateTime))
		}
		got[k] = true
	}
	for m := clock.Start; m.Before(last); m = m.Add(every) {
		if k := m.Format(campaigns.ScheduleKeyLayout) + " UTC"; !got[k] {
			t.Errorf("tick %s has no run: missed", k)
		}
	}
	for _, k := range keys {
		counts := c.WaitRun(ctx, "tick", k, 3*time.Minute)
		if rows := counts["sent"] + counts["unknown"]; rows != n {
			t.Errorf("run %s: ledger %v, want %d rows", k, counts, n)
		}
	}
	recover := time.Since(clock.Anchor.Add(span))
	c.WaitQueuesIdle(cluster.TaskSettle)
	rep := c.Check(ctx, "tick", len(keys)*n)
	record(t, fmt.Sprintf("e. 2 schedulers+3 workers, a simulated day in %s", span), rep, recover,
		fmt.Sprintf("%d ticks, one run each; scheduler killed midway", len(keys)))
}
