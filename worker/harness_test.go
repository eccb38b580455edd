package worker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/smtptest"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
	"github.com/tidings-crm/tidings/worker/redistest"
)

// bundle is one test's world: an isolated store, Redis database, SMTP server
// and campaigns folder (River's setup(t) + bundle shape).
type bundle struct {
	st    *store.Store
	rdb   redis.UniversalClient // a logical database of the test Redis, or a Redis Cluster (setupCluster)
	smtp  *smtptest.Server
	dir   string
	clock *fakeClock // nil: the wall clock
	chans map[channels.Name]channels.Channel
}

func setup(t testing.TB, dialect store.Dialect, smtpOpts ...smtptest.Option) *bundle {
	t.Helper()
	rdb, _ := redistest.Client(t)
	return setupOn(t, dialect, rdb, smtpOpts...)
}

// setupCluster is setup with the queue on a Redis Cluster of the test's own
// (redistest.Cluster).
func setupCluster(t testing.TB, dialect store.Dialect, smtpOpts ...smtptest.Option) *bundle {
	t.Helper()
	rdb, _ := redistest.Cluster(t)
	return setupOn(t, dialect, rdb, smtpOpts...)
}

// setupOn is setup on the Redis rdb.
func setupOn(t testing.TB, dialect store.Dialect, rdb redis.UniversalClient, smtpOpts ...smtptest.Option) *bundle {
	t.Helper()
	b := &bundle{st: storetest.Open(t, dialect), smtp: smtptest.Start(t, smtpOpts...), dir: t.TempDir(), rdb: rdb}
	b.chans = map[channels.Name]channels.Channel{channels.Email: b.emailSender(t, 4)}
	return b
}

// emailSender returns a go-mail sender to the bundle's SMTP server keeping
// pool connections open.
func (b *bundle) emailSender(t testing.TB, pool int) channels.Channel {
	t.Helper()
	cfg, err := email.ParseURL(b.smtp.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.From, cfg.PoolSize, cfg.IOTimeout, cfg.DialTimeout = "shop@tidings.test", pool, 10*time.Second, 5*time.Second
	cfg.Logger = quietLogger()
	sender, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	return sender
}

func quietLogger() *slog.Logger {
	if os.Getenv("TIDINGS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// campaign writes a campaign file and returns it loaded.
func (b *bundle) campaign(t testing.TB, yaml string) *campaigns.Campaign {
	t.Helper()
	path := filepath.Join(b.dir, fmt.Sprintf("c%d.yaml", time.Now().UnixNano()))
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, problems := campaigns.Parse(path, []byte(yaml))
	if campaigns.HasErrors(problems) {
		t.Fatalf("campaign does not load: %v", problems)
	}
	return c
}

// engine returns a new engine (a "node") with its own queue client, on the
// bundle's clock.
func (b *bundle) engine(t testing.TB, list ...*campaigns.Campaign) *worker.Engine {
	t.Helper()
	var opts worker.Options
	if b.clock != nil {
		opts.Now = b.clock.Now
	}
	return b.engineWith(t, opts, list...)
}

// startWorker runs an asynq server for e until the test ends (or stop).
func (b *bundle) startWorker(t testing.TB, e *worker.Engine, concurrency int) (stop func()) {
	t.Helper()
	return b.acceptWorker(t, e, workerConfig{concurrency: concurrency})
}

// addCustomers creates n customers c1..cn with email consent; edit may
// change each before it is written.
func (b *bundle) addCustomers(t testing.TB, n int, edit func(i int, c *store.CustomerInput)) {
	t.Helper()
	var batch []store.CustomerInput
	for i := 1; i <= n; i++ {
		email, yes := fmt.Sprintf("customer%d@example.com", i), true
		c := store.CustomerInput{ExternalID: fmt.Sprintf("c%d", i), Email: &email, EmailConsent: &yes}
		if edit != nil {
			edit(i, &c)
		}
		batch = append(batch, c)
	}
	for len(batch) > 0 {
		k := min(len(batch), 500)
		if _, err := b.st.UpsertCustomers(context.Background(), batch[:k]); err != nil {
			t.Fatal(err)
		}
		batch = batch[k:]
	}
}

// waitRun waits until the run is evaluated and no row is due on the
// bundle's clock (waitSettled at b.now()).
func (b *bundle) waitRun(t testing.TB, campaignID, key string, timeout time.Duration) {
	t.Helper()
	b.waitSettled(t, campaignID, key, b.now(), timeout)
}

// now is the bundle's clock: the fake one when set, else the wall.
func (b *bundle) now() time.Time {
	if b.clock != nil {
		return b.clock.Now()
	}
	return time.Now()
}

func (b *bundle) counts(t testing.TB, campaignID string) map[store.Status]int {
	t.Helper()
	n, err := b.st.CampaignCounts(context.Background(), campaignID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fakeClock is a settable clock shared by the engines of a test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

const newsletterYAML = `id: news
name: News
trigger: {schedule: {cron: "0 10 * * MON", time_zone: Europe/Paris}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
messages:
  email:
    subject: "News for {{ default \"you\" .first_name }}"
    text: "Hello {{ .external_id }}"
    html: "<p>Hello {{ .external_id }}</p>"
`
