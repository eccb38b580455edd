// Package cluster runs real tidings processes (worker, scheduler, serve)
// against a fresh PostgreSQL schema, a private redis-server and an in-test
// SMTP server, for the reliability drills (cmd/tidings/chaos) and the
// multi-process benchmarks. It builds the binary once, starts, stops, kills
// (-9) and restarts processes, keeps their logs (printed when a test fails),
// seeds customers, fires runs, waits for them, and compares what the SMTP
// server received with the ledger (Check).
//
// It is test support: nothing in the product imports it.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/channels/smtptest"
	"github.com/tidings-crm/tidings/internal/wait"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// Sender is the From address of every message; MessageIDDomain follows it.
const (
	Sender          = "Tidings <hello@tidings.localhost>"
	MessageIDDomain = "tidings.localhost"
)

// NewsletterYAML is a campaign sending one email to every consenting
// customer, fired by Trigger (its own schedule is weekly).
const NewsletterYAML = `id: news
name: News
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
messages:
  email:
    subject: "News for {{ default \"you\" .first_name }}"
    text: "Hello {{ .external_id }}"
`

// Options configures New. Zero values give a fresh schema of the shared
// PostgreSQL, a private Redis, a plain SMTP server and the newsletter.
type Options struct {
	// DatabaseURL, when set, is used as is (a private PostgreSQL); it is
	// migrated by New. Empty: a fresh schema of the test PostgreSQL.
	DatabaseURL string
	// Campaigns maps file names (news.yaml) to their YAML. Nil: NewsletterYAML.
	Campaigns map[string]string
	// SMTP options for the in-test server.
	SMTP []smtptest.Option
	// Env is added to every process's environment (KEY=value).
	Env []string
	// RedisCluster runs the processes on a private 3-master Redis Cluster
	// instead of one redis-server.
	RedisCluster bool
}

// Cluster is the shared world of a test's processes.
type Cluster struct {
	Dir         string // the processes' working folder: logs, campaigns, outbox
	Bin         string
	DatabaseURL string
	AdminToken  string
	Redis       RedisService
	SMTP        *smtptest.Server
	Store       *store.Store // the test's own connection to the database

	t     testing.TB
	opts  Options
	http  *http.Client
	mu    sync.Mutex
	seq   map[string]int
	procs []*Process
}

// New builds the binary (once), creates the database, Redis and SMTP server
// and the campaigns folder. Every process it starts is killed when the test
// ends; their logs are printed if the test failed.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c := &Cluster{Dir: t.TempDir(), Bin: Binary(t), t: t, opts: opts, seq: map[string]int{},
		http: &http.Client{Timeout: 10 * time.Second}, AdminToken: randomHex(t, 16)}
	c.DatabaseURL = opts.DatabaseURL
	if c.DatabaseURL == "" {
		c.DatabaseURL = storetest.URL(t, store.Postgres)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, c.DatabaseURL)
	if err != nil {
		t.Fatalf("cluster: open store: %v", err)
	}
	// Migrated here, once: serve, worker and scheduler refuse a database
	// with pending migrations (they migrate only with --migrate), and
	// processes starting together then find nothing to migrate.
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		t.Fatalf("cluster: migrate: %v", err)
	}
	if _, err := st.LoadHashKey(ctx, ""); err != nil {
		st.Close()
		t.Fatalf("cluster: hash key: %v", err)
	}
	c.Store = st
	c.Redis = startRedisService(t, opts.RedisCluster)
	c.SMTP = smtptest.Start(t, opts.SMTP...)
	camps := opts.Campaigns
	if camps == nil {
		camps = map[string]string{"news.yaml": NewsletterYAML}
	}
	if err := os.MkdirAll(c.CampaignsDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, y := range camps {
		if err := os.WriteFile(filepath.Join(c.CampaignsDir(), name), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(c.PolicyFile(), []byte(DrillPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: the processes die before the SMTP
	// server, Redis and the schema go away, and the store closes last.
	t.Cleanup(func() { st.Close() })
	t.Cleanup(c.shutdown)
	return c
}

// CampaignsDir is the folder the processes load campaigns from.
func (c *Cluster) CampaignsDir() string { return filepath.Join(c.Dir, "campaigns") }

// DrillPolicy is the contact policy of the drills' processes: the default
// without its transactional email cap, since the drills send one customer
// a transactional message per tick, event or run, far more than a shop
// would in a day, and measure delivery, not the policy.
const DrillPolicy = "caps:\n  email: {transactional: none}\n"

// PolicyFile is the policy file the processes load (DrillPolicy).
func (c *Cluster) PolicyFile() string { return filepath.Join(c.Dir, "policy.yaml") }

// Env returns the environment every process gets.
func (c *Cluster) Env() []string {
	env := filterEnv(os.Environ())
	env = append(env,
		"TIDINGS_DATABASE_URL="+c.DatabaseURL,
		"TIDINGS_REDIS_URL="+c.Redis.URL(),
		"TIDINGS_SMTP_URL="+c.SMTP.URL(),
		"TIDINGS_SMTP_FROM="+Sender,
		"TIDINGS_CAMPAIGNS="+c.CampaignsDir(),
		"TIDINGS_POLICY="+c.PolicyFile(),
		"TIDINGS_OUTBOX="+filepath.Join(c.Dir, "outbox"),
		"TIDINGS_ADMIN_TOKEN="+c.AdminToken,
		"TIDINGS_SIGNING_KEY="+randomHex(c.t, 32),
		// A dead worker's claims settle 40 s after their send began
		// instead of 2 min, so the drills wait less (sends here take ms).
		"TIDINGS_CLAIM_LEASE=40s",
	)
	return append(env, c.opts.Env...)
}

// Processes returns every process started so far.
func (c *Cluster) Processes() []*Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Process(nil), c.procs...)
}

// shutdown kills every process and prints the logs of a failed test.
func (c *Cluster) shutdown() {
	procs := c.Processes()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); p.signal(syscall.SIGKILL, 10*time.Second) }()
	}
	wg.Wait()
	if c.t.Failed() || os.Getenv("TIDINGS_CLUSTER_LOGS") != "" {
		for _, p := range procs {
			c.t.Logf("---- log of %s (last 60 lines; all in %s)\n%s", p.Name, p.logPath, p.tail(60))
		}
	}
}

// Trigger fires a run of campaignID with the occurrence key, the way the
// scheduler and the admin API do: a run task on the queue.
func (c *Cluster) Trigger(ctx context.Context, campaignID, key string) {
	c.t.Helper()
	client := asynq.NewClientFromRedisClient(c.Redis.UniversalClient())
	q := &worker.Enqueuer{Client: client}
	if err := q.Run(ctx, worker.RunPayload{Campaign: campaignID, Occurrence: key, ScheduledFor: time.Now().UTC()}); err != nil {
		c.t.Fatalf("cluster: trigger %s/%s: %v", campaignID, key, err)
	}
}

// Counts returns a run's ledger rows by status. Errors (the database may be
// down on purpose) return nil and the error.
func (c *Cluster) Counts(ctx context.Context, campaignID, key string) (map[string]int, error) {
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	err := c.Store.DB.SelectContext(ctx, &rows, c.Store.DB.Rebind(`SELECT status, count(*) AS n FROM deliveries
		WHERE campaign_id = ? AND occurrence = ? GROUP BY status`), campaignID, key)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// Unfinished are the statuses of a row whose fate is not decided yet.
var Unfinished = []string{string(store.StatusPending), string(store.StatusDeferred), string(store.StatusSending)}

// WaitRun waits until the run is evaluated and none of its rows is pending,
// deferred or sending, and returns the ledger counts. Database errors are
// retried until the timeout (drills take the database down on purpose).
func (c *Cluster) WaitRun(ctx context.Context, campaignID, key string, timeout time.Duration) map[string]int {
	c.t.Helper()
	var counts map[string]int
	var done bool
	var lastErr error
	if !wait.UntilEvery(timeout, 250*time.Millisecond, func() bool {
		if ctx.Err() != nil {
			return true
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		done, err = c.Store.RunDone(qctx, campaignID, key)
		if err == nil && done {
			counts, err = c.Counts(qctx, campaignID, key)
		}
		lastErr = err
		return err == nil && done && sum(counts, Unfinished...) == 0
	}) || ctx.Err() != nil {
		c.t.Fatalf("cluster: run %s/%s not finished after %s: evaluated %v, ledger %v, last error %v",
			campaignID, key, timeout, done, counts, lastErr)
	}
	return counts
}

// WaitSent waits until the SMTP server has accepted at least n messages.
func (c *Cluster) WaitSent(n int, timeout time.Duration) {
	c.t.Helper()
	c.SMTP.WaitMessages(c.t, n, timeout)
}

// HTTPClient is the client the harness uses for processes' HTTP endpoints.
func (c *Cluster) HTTPClient() *http.Client { return c.http }

func sum(m map[string]int, keys ...string) int {
	n := 0
	for _, k := range keys {
		n += m[k]
	}
	return n
}

// FormatCounts prints ledger counts in a stable order.
func FormatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for _, k := range keys {
		s += fmt.Sprintf("%s=%d ", k, m[k])
	}
	return s
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("cluster: random: %v", err)
	}
	return hex.EncodeToString(b)
}

// queueCounts sums the pending, active and archived tasks of every queue.
func (c *Cluster) queueCounts() (pending, active, archived int, err error) {
	insp := asynq.NewInspectorFromRedisClient(c.Redis.UniversalClient())
	names, err := insp.Queues()
	if err != nil {
		return 0, 0, 0, err
	}
	for _, q := range names {
		info, err := insp.GetQueueInfo(q)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("queue %s: %w", q, err)
		}
		pending += info.Pending
		active += info.Active
		archived += info.Archived
	}
	return pending, active, archived, nil
}

// WaitQueuesEmpty waits until no task is pending or active: every task
// enqueued so far (a scheduler's last run, say) has been taken and finished.
func (c *Cluster) WaitQueuesEmpty(timeout time.Duration) {
	c.t.Helper()
	var pending, active int
	var err error
	if !wait.UntilEvery(timeout, 250*time.Millisecond, func() bool {
		pending, active, _, err = c.queueCounts()
		return err == nil && pending+active == 0
	}) {
		c.t.Errorf("cluster: %d tasks still pending or active after %s (err %v)", pending+active, timeout, err)
	}
}

// TaskSettle is how long a drill waits, once every row is settled, for
// asynq to let go of its active tasks. A killed worker's task stays active
// until its lease (30 s in asynq 0.26) runs out and the recoverer, which
// looks once a minute, moves it back: up to 90 s. The drills waited 30 s and
// failed on a loaded machine with nothing wrong (the recovered task finds
// its row settled and does nothing).
const TaskSettle = 90 * time.Second

// WaitQueuesIdle waits until no task is active, and fails the test if any
// task was archived.
func (c *Cluster) WaitQueuesIdle(timeout time.Duration) {
	c.t.Helper()
	var active, archived int
	var err error
	idle := wait.UntilEvery(timeout, 250*time.Millisecond, func() bool {
		_, active, archived, err = c.queueCounts()
		return err == nil && (archived > 0 || active == 0)
	})
	switch {
	case idle && archived > 0:
		c.t.Errorf("cluster: %d tasks archived (given up on)", archived)
	case !idle:
		c.t.Errorf("cluster: %d tasks still active after %s (err %v): %s", active, timeout, err, c.activeTasks())
	}
}

// activeTasks describes the active tasks (type, id, retries), for a failure.
func (c *Cluster) activeTasks() string {
	insp := asynq.NewInspectorFromRedisClient(c.Redis.UniversalClient())
	names, _ := insp.Queues()
	var out []string
	for _, q := range names {
		tasks, _ := insp.ListActiveTasks(q)
		for _, ti := range tasks {
			out = append(out, fmt.Sprintf("%s %s %s retried %d last error %q", q, ti.Type, ti.ID, ti.Retried, ti.LastErr))
		}
	}
	return strings.Join(out, "; ")
}
