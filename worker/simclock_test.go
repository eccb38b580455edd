package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

func TestSimClockParsesItsOwnFormAndRejectsBadInput(t *testing.T) {
	t.Parallel()
	c := worker.SimClock{Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Anchor: time.Now().Add(-2 * time.Second), Speed: 720}
	back, err := worker.ParseSimClock(c.String())
	if err != nil {
		t.Fatal(err)
	}
	if !back.Start.Equal(c.Start) || !back.Anchor.Equal(c.Anchor) || back.Speed != c.Speed {
		t.Fatalf("round trip: %+v, want %+v", back, c)
	}
	// Two wall seconds at 720x are 24 simulated minutes.
	if got := back.Now().Sub(c.Start); got < 24*time.Minute || got > 26*time.Minute {
		t.Fatalf("simulated time advanced %s in 2 s at 720x, want about 24m", got)
	}
	for _, bad := range []string{"", "2026-03-01T00:00:00Z", "yesterday,2026-03-01T00:00:00Z,1",
		"2026-03-01T00:00:00Z,now,1", "2026-03-01T00:00:00Z,2026-03-01T00:00:00Z,0", "2026-03-01T00:00:00Z,2026-03-01T00:00:00Z,fast"} {
		if _, err := worker.ParseSimClock(bad); err == nil || !strings.Contains(err.Error(), "simulated clock") {
			t.Errorf("ParseSimClock(%q) = %v, want an error naming the simulated clock", bad, err)
		}
	}
}

// TestSchedulerRunsOnASimulatedClock runs a real Scheduler.Run loop on a
// clock 1,200 times faster than the wall: an hour of an every-ten-minutes
// campaign passes in three seconds (the test waits for the scheduler's
// ticks, Scheduler.Ticked, until one is an hour in), and each simulated
// tick runs once.
func TestSchedulerRunsOnASimulatedClock(t *testing.T) {
	t.Parallel()
	b := setup(t, store.Postgres)
	b.addCustomers(t, 2, nil)
	c := b.campaign(t, strings.Replace(everyMinuteYAML, `cron: "* * * * *"`, `cron: "*/10 * * * *"`, 1))
	e := b.engine(t, c)
	b.startWorker(t, e, 4)
	start := time.Date(2026, 3, 1, 0, 5, 0, 0, time.UTC)
	clock := worker.SimClock{Start: start, Anchor: time.Now(), Speed: 1200}
	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time, 64)
	sched := &worker.Scheduler{Engine: e, Clock: &clock, Ticked: func(at time.Time, _ int, _ error) {
		select {
		case ticks <- at:
		default: // the test has stopped listening
		}
	}}
	done := make(chan struct{})
	go func() { defer close(done); sched.Run(ctx) }()
	timeout := time.After(time.Minute)
	for hourIn := false; !hourIn; {
		select {
		case at := <-ticks:
			hourIn = !at.Before(start.Add(time.Hour))
		case <-timeout:
			t.Fatalf("no scheduler tick an hour into the simulated clock after a minute (it reads %s)", clock.Now())
		}
	}
	cancel()
	<-done
	end := clock.Now()
	var want []string
	for at := start.Truncate(10 * time.Minute).Add(10 * time.Minute); !at.After(end); at = at.Add(10 * time.Minute) {
		want = append(want, scheduleKey(at, "UTC"))
	}
	if len(want) < 5 {
		t.Fatalf("only %d ticks in the simulated hour; the clock did not run fast", len(want))
	}
	for _, k := range want {
		b.waitRun(t, "minutely", k, 30*time.Second)
	}
	if n, _ := b.st.CountRuns(context.Background(), "minutely"); n != len(want) && n != len(want)+1 {
		// +1: the first tick may catch up 00:00, the firing before the start.
		t.Fatalf("campaign_runs = %d, want the %d simulated ticks %v", n, len(want), want)
	}
}
