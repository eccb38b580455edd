package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/smtptest"
	"github.com/tidings-crm/tidings/internal/wait"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
	"github.com/tidings-crm/tidings/worker/redistest"
)

// welcomeOnceYAML sends one email to each consenting customer once ever:
// every run plans the customers it has not planned yet.
const welcomeOnceYAML = `id: welcome
name: Welcome
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
occurrence: once ever
audience: email_consent
channels: [email]
frequency: {class: transactional}
messages:
  email:
    subject: "Welcome"
    text: "Hello {{ .external_id }}"
`

// TestRunReadsAudienceFromLaggingReplica runs a campaign whose audience
// streams from the test read replica while planning and sending use the
// primary. Replay is paused, so the replica lags: a consent withdrawn and
// customers added on the primary meanwhile are invisible to the runs'
// audience. The lag only delays: the runs during the pause plan what the
// replica shows (the withdrawn customer's row is then refused by the claim,
// which checks consent on the primary), and the run after replay resumes
// plans the new customers. Each customer is planned once and receives at
// most one message.
func TestRunReadsAudienceFromLaggingReplica(t *testing.T) {
	st, url := storetest.OpenURL(t, store.Postgres)
	readURL := storetest.ReplicaURL(t, url)
	rep := storetest.OpenReplica(t, url, readURL)
	if err := st.AttachReplica(readURL, nil); err != nil {
		t.Fatal(err)
	}
	b := &bundle{st: st, smtp: smtptest.Start(t), dir: t.TempDir()}
	b.rdb, _ = redistest.Client(t)
	b.chans = map[channels.Name]channels.Channel{channels.Email: b.emailSender(t, 4)}
	ctx := context.Background()

	const first, later = 30, 20
	b.addCustomers(t, first, nil)
	rep.CatchUp() // the schema and the first customers are on the replica
	rep.Pause()
	// On the primary only, while the replica lags: customer 1 withdraws
	// consent, customers 31..50 arrive.
	b.addCustomers(t, first+later, nil) // upserts 1..30 unchanged, adds 31..50
	c1, err := st.CustomerByExternalID(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetConsent(ctx, c1.ID, channels.Email, false, "test"); err != nil {
		t.Fatal(err)
	}

	c := b.campaign(t, welcomeOnceYAML)
	e := b.engine(t, c)
	b.startWorker(t, e, 4)
	run := func(key string) {
		t.Helper()
		if err := e.Enqueue(ctx, "welcome", key, time.Now()); err != nil {
			t.Fatal(err)
		}
		b.waitRun(t, "welcome", key, 60*time.Second)
	}
	run("r1")
	got := b.counts(t, "welcome")
	if got[store.StatusSent] != first-1 || got[store.StatusSuppressed] != 1 || len(got) != 2 {
		t.Fatalf("after the first run on the lagging replica: ledger %v, want %d sent and 1 suppressed "+
			"(customer 1's withdrawal is seen by the claim on the primary)", got, first-1)
	}
	run("r2") // still lagging: nothing new to plan, nothing planned twice
	if again := b.counts(t, "welcome"); again[store.StatusSent] != first-1 || len(again) != 2 {
		t.Fatalf("second run on the lagging replica: ledger %v, want it unchanged (%v)", again, got)
	}
	rep.Resume()
	rep.CatchUp()
	run("r3")
	if got := b.counts(t, "welcome"); got[store.StatusSent] != first+later-1 || got[store.StatusSuppressed] != 1 || len(got) != 2 {
		t.Fatalf("after the replica caught up: ledger %v, want %d sent and 1 suppressed", got, first+later-1)
	}
	seen := map[string]int{}
	for _, m := range b.smtp.Messages() {
		seen[strings.Join(m.To, ",")]++
	}
	if len(seen) != first+later-1 || seen["customer1@example.com"] != 0 {
		t.Errorf("%d recipients received mail (customer 1: %d), want %d and not customer 1", len(seen),
			seen["customer1@example.com"], first+later-1)
	}
	for to, n := range seen {
		if n != 1 {
			t.Errorf("%s received %d messages", to, n)
		}
	}
	// The report reads from the replica too: it shows the sends once the
	// replica has replayed them.
	rep.CatchUp()
	var r worker.Report
	if !wait.Until(10*time.Second, func() bool {
		var err error
		if r, err = e.Report(ctx, "welcome"); err != nil {
			t.Fatal(err)
		}
		return r.Treated.Sent == first+later-1
	}) {
		t.Errorf("report from the replica: %d sent, want %d", r.Treated.Sent, first+later-1)
	}
	if n := st.ReplicaFallbacks(); n != 0 {
		t.Errorf("%d reads fell back to the primary; the replica answered throughout", n)
	}
}

// TestRunFallsBackToPrimaryWhenReplicaIsDown attaches a read replica that
// does not answer: the run's audience is read from the primary instead,
// the fallback is counted and reported once (the replica is then held off),
// and every customer gets their message once.
func TestRunFallsBackToPrimaryWhenReplicaIsDown(t *testing.T) {
	t.Parallel()
	b := setup(t, store.Postgres)
	var reported []error
	if err := b.st.AttachReplica("postgres://root@127.0.0.1:1/test?sslmode=disable", func(err error) {
		reported = append(reported, err)
	}); err != nil {
		t.Fatal(err)
	}
	const n = 120 // three shards of the harness's 50
	b.addCustomers(t, n, nil)
	c := b.campaign(t, newsletterYAML)
	e := b.engine(t, c)
	b.startWorker(t, e, 1) // one shard at a time: the first failure holds the replica off for the others
	if err := e.Enqueue(context.Background(), "news", "2026-11-23T09:00Z", time.Now()); err != nil {
		t.Fatal(err)
	}
	b.waitRun(t, "news", "2026-11-23T09:00Z", 60*time.Second)
	if got := b.counts(t, "news"); got[store.StatusSent] != n || len(got) != 1 {
		t.Fatalf("ledger = %v, want %d sent", got, n)
	}
	if len(b.smtp.Messages()) != n {
		t.Errorf("SMTP server received %d messages, want %d", len(b.smtp.Messages()), n)
	}
	if got := b.st.ReplicaFallbacks(); got != 1 || len(reported) != 1 {
		t.Fatalf("fallbacks = %d, reported %d, want 1 each (then the replica is held off)", got, len(reported))
	}
	if !strings.Contains(reported[0].Error(), "read replica") {
		t.Errorf("fallback error %q does not name the read replica", reported[0])
	}
}
