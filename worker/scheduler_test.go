package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

const everyMinuteYAML = `id: minutely
name: Every minute
trigger: {schedule: {cron: "* * * * *"}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
occurrence: every run
messages: {email: {subject: "tick", text: "tick {{ .external_id }}"}}
`

// TestTwoSchedulersRunEachTickOnce ticks two schedulers (twice each) for ten
// minutes of an every-minute campaign: ten runs, and each customer gets one
// message per tick.
func TestTwoSchedulersRunEachTickOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, store.Postgres)
	start := time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)
	b.clock = &fakeClock{t: start}
	const customers = 5
	b.addCustomers(t, customers, nil)
	c := b.campaign(t, everyMinuteYAML)
	e1, e2 := b.engine(t, c), b.engine(t, c)
	b.startWorker(t, e1, 4)
	s1, s2 := &worker.Scheduler{Engine: e1}, &worker.Scheduler{Engine: e2}
	ctx := context.Background()
	for m := 0; m < 10; m++ {
		now := start.Add(time.Duration(m) * time.Minute)
		b.clock.Set(now)
		for _, s := range []*worker.Scheduler{s1, s2, s1, s2} {
			if _, err := s.Tick(ctx, now); err != nil {
				t.Fatal(err)
			}
		}
		b.waitRun(t, "minutely", scheduleKey(now, "UTC"), 30*time.Second)
	}
	if n, _ := b.st.CountRuns(ctx, "minutely"); n != 10 {
		t.Fatalf("campaign_runs = %d, want 10", n)
	}
	b.perRecipient(t, customers, 10)
}

// TestSchedulerCatchesUpAMissedTickOnce: every scheduler was down at 10:00;
// the first tick after (within the hour) fires the 10:00 run once.
func TestSchedulerCatchesUpAMissedTickOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	c := b.campaign(t, strings.Replace(everyMinuteYAML, `"* * * * *"`, `"0 10 * * *"`, 1))
	e := b.engine(t, c)
	s := &worker.Scheduler{Engine: e}
	ctx := context.Background()
	late := time.Date(2025, 3, 3, 10, 40, 0, 0, time.UTC)
	for i, want := range []int{1, 0, 0} {
		n, err := s.Tick(ctx, late.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// The run is created by its task; create it as the worker would.
			if _, err := b.st.StartRun(ctx, "minutely", "2025-03-03T10:00 UTC", late, late); err != nil {
				t.Fatal(err)
			}
		}
		if n != want {
			t.Fatalf("tick %d enqueued %d runs, want %d", i, n, want)
		}
	}
	// Two hours late is beyond the catch-up window: skipped.
	if n, _ := s.Tick(ctx, time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)); n != 0 {
		t.Fatalf("a tick two hours after the firing enqueued %d runs, want 0", n)
	}
}

// TestWatchReloadsChangedCampaignsAndKeepsGoodOnesOnErrors edits the folder
// under a running watcher.
func TestWatchReloadsChangedCampaignsAndKeepsGoodOnesOnErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	dir := t.TempDir()
	path := filepath.Join(dir, "minutely.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(everyMinuteYAML)
	c := b.campaign(t, everyMinuteYAML)
	e := b.engine(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.WatchCampaigns(ctx, dir, 20*time.Millisecond)

	write(strings.Replace(everyMinuteYAML, "name: Every minute", "name: Renamed", 1))
	waitFor(t, func() bool { got, _ := e.Campaign("minutely"); return got.Name == "Renamed" })

	write(strings.Replace(everyMinuteYAML, "audience: email_consent", "audience: totl_spent > 1", 1))
	// The watcher has reloaded once it reports the broken file.
	waitFor(t, func() bool { return len(e.BrokenCampaignFiles()) == 1 })
	if got, ok := e.Campaign("minutely"); !ok || got.Name != "Renamed" {
		t.Fatalf("a broken file replaced the running campaigns: %v %v", got, ok)
	}
}

// waitFor waits up to 5 s for cond (waitUntil with the usual bound).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	waitUntil(t, 5*time.Second, "condition", cond)
}
