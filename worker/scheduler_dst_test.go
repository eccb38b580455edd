package worker_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// scheduleKey is the occurrence key of a schedule firing at wall-clock time
// at (its clock fields) in zone.
func scheduleKey(at time.Time, zone string) string {
	return at.Format("2006-01-02T15:04") + " " + zone
}

// dstCampaignYAML sends late without limit: the test's clock moves on to
// the next DST change (months later) while the last window's messages may
// still be in flight, which the default late policy (a day) would expire.
func dstCampaignYAML(id, cron, zone string) string {
	return fmt.Sprintf(`id: %s
name: %s
trigger: {schedule: {cron: "%s", time_zone: %s}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
occurrence: every run
late: {policy: send}
messages: {email: {subject: "%s", text: "hello {{ .external_id }}"}}
`, id, id, cron, zone, id)
}

// dstWindow is a stretch of real minutes a test ticks through: two hours
// either side of a DST change.
type dstWindow struct {
	change time.Time
	jump   bool // the clock jumps back an hour midway (an NTP correction)
}

// dstFiring is a run the schedulers must make: campaign, key, instant.
type dstFiring struct {
	campaign, key string
	at            time.Time
}

// TestSchedulersRunEachDSTWallTimeOnce ticks two schedulers every minute
// through DST changes in New York (1 hour) and Lord Howe (30 minutes), both
// directions, restarting one of them midway through each change and jumping
// the clock back an hour during the fall-backs. A repeated wall time runs
// once, at its first instant; a skipped one runs once, when the gap ends; a
// quarter-hourly schedule runs each quarter once (the skipped quarters of a
// gap are stood for by the first after it). Each customer gets one message
// per run.
func TestSchedulersRunEachDSTWallTimeOnce(t *testing.T) {
	t.Parallel()
	ny, lh := "America/New_York", "Australia/Lord_Howe"
	wall := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	yamls := []string{
		dstCampaignYAML("ny-fall", "30 1 1 11 *", ny),
		dstCampaignYAML("ny-spring", "30 2 14 3 *", ny),
		dstCampaignYAML("lh-spring", "15 2 4 10 *", lh),
		dstCampaignYAML("lh-fall", "45 1 4 4 *", lh),
		dstCampaignYAML("ny-quarter", "*/15 0-3 1 11 *", ny),
	}
	windows := []dstWindow{ // in time order: the workers' clock only goes forward
		{change: time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC)},           // LH 02:00 -> 02:30
		{change: time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC), jump: true}, // NY 02:00 EDT -> 01:00 EST
		{change: time.Date(2027, 3, 14, 7, 0, 0, 0, time.UTC)},             // NY 02:00 EST -> 03:00 EDT
		{change: time.Date(2027, 4, 3, 15, 0, 0, 0, time.UTC), jump: true}, // LH 02:00 -> 01:30
	}
	want := []dstFiring{
		{"ny-fall", scheduleKey(wall(2026, 11, 1, 1, 30), ny), time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)},    // 01:30 EDT
		{"ny-spring", scheduleKey(wall(2027, 3, 14, 2, 30), ny), time.Date(2027, 3, 14, 7, 0, 0, 0, time.UTC)},   // 03:00 EDT
		{"lh-spring", scheduleKey(wall(2026, 10, 4, 2, 15), lh), time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC)}, // 02:30 +11
		{"lh-fall", scheduleKey(wall(2027, 4, 4, 1, 45), lh), time.Date(2027, 4, 3, 14, 45, 0, 0, time.UTC)},     // 01:45 +11
	}
	// The quarters of 00:00-02:45 on 1 November (the window ends at 03:00
	// EST), each once: 01:00-01:45 at their EDT instants, none again in the
	// repeated EST hour.
	for q := 0; q < 12; q++ {
		w := wall(2026, 11, 1, q/4, q%4*15)
		off := 4 * time.Hour
		if w.Hour() >= 2 {
			off = 5 * time.Hour
		}
		want = append(want, dstFiring{"ny-quarter", scheduleKey(w, ny), w.Add(off)})
	}
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.clock = &fakeClock{t: windows[0].change.Add(-2 * time.Hour)}
			const customers = 2
			b.addCustomers(t, customers, nil)
			var cs []*campaigns.Campaign
			for _, y := range yamls {
				cs = append(cs, b.campaign(t, y))
			}
			e1 := b.engine(t, cs...)
			b.startWorker(t, e1, 4)
			for _, w := range windows {
				tickThrough(t, b, cs, w)
			}
			checkDSTRuns(t, b, want, customers)
		})
	}
}

// tickThrough ticks two schedulers every minute of the window; halfway one
// is replaced by a new one on a new engine (a restart).
func tickThrough(t *testing.T, b *bundle, cs []*campaigns.Campaign, w dstWindow) {
	t.Helper()
	ctx := context.Background()
	s1, s2 := &worker.Scheduler{Engine: b.engine(t, cs...)}, &worker.Scheduler{Engine: b.engine(t, cs...)}
	start, end := w.change.Add(-2*time.Hour), w.change.Add(2*time.Hour)
	var ticks []time.Time
	for now := start; now.Before(end); now = now.Add(time.Minute) {
		ticks = append(ticks, now)
		if w.jump && now.Equal(w.change.Add(30*time.Minute)) {
			for back := now.Add(-time.Hour); back.Before(now); back = back.Add(10 * time.Minute) {
				ticks = append(ticks, back) // the clock runs an hour late for a while
			}
		}
	}
	for i, now := range ticks {
		if now.After(b.clock.Now()) {
			b.clock.Set(now) // the jump is the schedulers' clock, not the workers'
		}
		if i == len(ticks)/2 {
			s1 = &worker.Scheduler{Engine: b.engine(t, cs...)}
		}
		for _, s := range []*worker.Scheduler{s1, s2} {
			if _, err := s.Tick(ctx, now); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func checkDSTRuns(t *testing.T, b *bundle, want []dstFiring, customers int) {
	t.Helper()
	ctx := context.Background()
	for _, f := range want {
		b.waitRun(t, f.campaign, f.key, time.Minute)
	}
	var got []struct {
		Campaign     string    `db:"campaign_id"`
		Occurrence   string    `db:"occurrence"`
		ScheduledFor time.Time `db:"scheduled_for"`
	}
	if err := b.st.DB.SelectContext(ctx, &got, `SELECT campaign_id, occurrence, scheduled_for FROM campaign_runs`); err != nil {
		t.Fatal(err)
	}
	var gotRuns, wantRuns []string
	for _, r := range got {
		gotRuns = append(gotRuns, fmt.Sprintf("%s %s at %s", r.Campaign, r.Occurrence, r.ScheduledFor.UTC().Format(time.RFC3339)))
	}
	for _, f := range want {
		wantRuns = append(wantRuns, fmt.Sprintf("%s %s at %s", f.campaign, f.key, f.at.Format(time.RFC3339)))
	}
	sort.Strings(gotRuns)
	sort.Strings(wantRuns)
	if strings.Join(gotRuns, "\n") != strings.Join(wantRuns, "\n") {
		t.Fatalf("runs:\n%s\nwant:\n%s", strings.Join(gotRuns, "\n"), strings.Join(wantRuns, "\n"))
	}
	per := map[string]int{}
	for _, m := range b.smtp.Messages() {
		h, err := m.Header()
		if err != nil {
			t.Fatal(err)
		}
		per[strings.Join(m.To, ",")+" "+h.Get("Subject")]++
	}
	for id, n := range map[string]int{"ny-fall": 1, "ny-spring": 1, "lh-spring": 1, "lh-fall": 1, "ny-quarter": 12} {
		for i := 1; i <= customers; i++ {
			if got := per[fmt.Sprintf("customer%d@example.com %s", i, id)]; got != n {
				t.Errorf("customer%d got %d %s messages, want %d", i, got, id, n)
			}
		}
	}
}

// TestSchedulerDoesNotRefireAFiringRunUnderItsLegacyKey: runs recorded
// before an upgrade are keyed by their UTC instant. A new scheduler within
// the catch-up window finds such a run done and does not fire it again, and
// a task still queued by an old scheduler runs under today's key, so it and
// the new scheduler's task are one run.
func TestSchedulerDoesNotRefireAFiringRunUnderItsLegacyKey(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			at := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC) // 10:00 EST
			b.clock = &fakeClock{t: at.Add(20 * time.Minute)}
			b.addCustomers(t, 2, nil)
			done := b.campaign(t, dstCampaignYAML("done", "0 10 * * *", "America/New_York"))
			queued := b.campaign(t, dstCampaignYAML("queued", "0 10 * * *", "America/New_York"))
			e := b.engine(t, done, queued)
			ctx := context.Background()
			if _, err := b.st.StartRun(ctx, "done", "2026-12-03T15:00Z", at, at); err != nil {
				t.Fatal(err)
			}
			// The old scheduler's task for "queued" is still in Redis, as
			// that version wrote it.
			old := asynq.NewTask(worker.TypeRun, fmt.Appendf(nil,
				`{"campaign":"queued","occurrence":"2026-12-03T15:00Z","scheduled_for":%q}`, at.Format(time.RFC3339)))
			if _, err := asynq.NewClientFromRedisClient(b.rdb).EnqueueContext(ctx, old,
				asynq.TaskID("run:queued:2026-12-03T15:00Z"), asynq.Queue(worker.QueuePlan)); err != nil {
				t.Fatal(err)
			}
			n, err := (&worker.Scheduler{Engine: e}).Tick(ctx, b.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("the tick after the upgrade enqueued %d runs, want 1 (queued's, under its new key)", n)
			}
			b.startWorker(t, e, 2)
			key := scheduleKey(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), "America/New_York")
			b.waitRun(t, "queued", key, 30*time.Second)
			for id, want := range map[string]int{"done": 1, "queued": 1} {
				if got, _ := b.st.CountRuns(ctx, id); got != want {
					t.Errorf("%s: %d runs, want %d", id, got, want)
				}
			}
			if got := b.counts(t, "queued")["sent"]; got != 2 {
				t.Errorf("queued sent %d messages to 2 customers, want 2", got)
			}
			if got := len(b.smtp.Messages()); got != 2 {
				t.Errorf("%d messages in all, want 2 (done is not fired again)", got)
			}
		})
	}
}
