package triggers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/triggers"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// recorder is a Reactor that remembers the events it was asked to react to.
type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) EnqueueEvent(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
	return nil
}

type hookBundle struct {
	st   *store.Store
	srv  *httptest.Server
	reac *recorder
}

func setupHook(t testing.TB, dialect store.Dialect, opts triggers.WebhookOptions) *hookBundle {
	t.Helper()
	b := &hookBundle{st: storetest.Open(t, dialect), reac: &recorder{}}
	opts.Secrets, opts.Store, opts.Reactor = testSecret, b.st, b.reac
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := triggers.NewWebhook(opts)
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(h)
	t.Cleanup(b.srv.Close)
	return b
}

// reactions returns the events the handler enqueued, once every request has
// finished: a handler enqueues after its answer has gone out, so a client can
// read the answer first. It closes the test server.
func (b *hookBundle) reactions() []string {
	b.srv.Close() // blocks until the handlers still running return
	b.reac.mu.Lock()
	defer b.reac.mu.Unlock()
	return slices.Clone(b.reac.ids)
}

// post signs body and posts it to path; it returns the status and answer.
func (b *hookBundle) post(t testing.TB, client *http.Client, path, id string, body []byte) (int, []byte) {
	t.Helper()
	h, err := triggers.SignHeaders(testSecret, id, time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, client, path, h, body)
}

func (b *hookBundle) do(t testing.TB, client *http.Client, path string, headers map[string]string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, answer
}

func purchaseJSON(eventID, customer, order string, cents int64, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"event_id": %q, "customer": {"external_id": %q}, "order_id": %q,
		"amount": %d.%02d, "currency": "EUR", "items": [{"sku": "A1", "name": "Album", "quantity": 1, "price": %d.%02d}],
		"occurred_at": %q}`, eventID, customer, order, cents/100, cents%100, cents/100, cents%100, at.Format(time.RFC3339Nano)))
}

// TestConcurrentEventsKeepMetricsExact posts 1,000 events for 50 customers,
// each twice, concurrently and in random order, through the real HTTP server
// on PostgreSQL: exactly 1,000 purchases are stored, every duplicate is
// answered 200, and every customer's metrics equal a from-scratch SQL
// recompute.
func TestConcurrentEventsKeepMetricsExact(t *testing.T) {
	t.Parallel()
	b := setupHook(t, store.Postgres, triggers.WebhookOptions{})
	type post struct {
		id   string
		body []byte
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(7, 11))
	var posts []post
	for i := range 1000 {
		cents := int64(rng.IntN(50000) + 1)
		at := base.Add(time.Duration(rng.IntN(365*24)) * time.Hour)
		id := fmt.Sprintf("evt_%04d", i)
		body := purchaseJSON(id, fmt.Sprintf("cust%02d", i%50), fmt.Sprintf("order-%04d", i), cents, at)
		posts = append(posts, post{id, body}, post{id, body})
	}
	rng.Shuffle(len(posts), func(i, j int) { posts[i], posts[j] = posts[j], posts[i] })

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	work := make(chan post)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for p := range work {
				code, answer := b.post(t, client, triggers.PathPurchase, p.id, p.body)
				mu.Lock()
				statuses[code]++
				mu.Unlock()
				if code != http.StatusAccepted && code != http.StatusOK {
					t.Errorf("event %s: %d %s", p.id, code, answer)
				}
			}
		})
	}
	for _, p := range posts {
		work <- p
	}
	close(work)
	wg.Wait()
	if statuses[http.StatusAccepted] != 1000 || statuses[http.StatusOK] != 1000 {
		t.Fatalf("statuses = %v, want 1000 x 202 and 1000 x 200", statuses)
	}
	ctx := context.Background()
	var purchases, inbox, customers int
	db := b.st.DB
	must(t, db.GetContext(ctx, &purchases, `SELECT count(*) FROM purchases`))
	must(t, db.GetContext(ctx, &inbox, `SELECT count(*) FROM webhook_inbox`))
	must(t, db.GetContext(ctx, &customers, `SELECT count(*) FROM customers`))
	if purchases != 1000 || inbox != 1000 || customers != 50 {
		t.Fatalf("stored %d purchases, %d inbox rows, %d customers; want 1000, 1000, 50", purchases, inbox, customers)
	}
	if n := len(b.reactions()); n != 1000 {
		t.Fatalf("%d reactions enqueued, want 1000 (one per new event)", n)
	}
	type metrics struct {
		ID    string    `db:"external_id"`
		N     int       `db:"n"`
		Total int64     `db:"total"`
		First time.Time `db:"first_at"`
		Last  time.Time `db:"last_at"`
		Avg   float64   `db:"avg"`
	}
	var stored, fresh []metrics
	must(t, db.SelectContext(ctx, &stored, `SELECT external_id, orders_count AS n, total_spent_cents AS total,
		first_purchase_at AS first_at, last_purchase_at AS last_at, avg_days_between AS avg
		FROM customers ORDER BY external_id`))
	must(t, db.SelectContext(ctx, &fresh, `SELECT c.external_id, count(*) AS n, sum(p.amount_cents) AS total,
		min(p.occurred_at) AS first_at, max(p.occurred_at) AS last_at,
		CASE WHEN count(*) > 1 THEN EXTRACT(EPOCH FROM max(p.occurred_at) - min(p.occurred_at)) / 86400.0 / (count(*) - 1)
			ELSE 0 END AS avg
		FROM customers c JOIN purchases p ON p.customer_id = c.id GROUP BY c.external_id ORDER BY c.external_id`))
	if len(stored) != len(fresh) {
		t.Fatalf("%d customers with metrics, %d recomputed", len(stored), len(fresh))
	}
	for i := range stored {
		s, f := stored[i], fresh[i]
		if s.ID != f.ID || s.N != f.N || s.Total != f.Total || !s.First.Equal(f.First) || !s.Last.Equal(f.Last) ||
			math.Abs(s.Avg-f.Avg) > 1e-9 {
			t.Errorf("customer %s: stored %+v, recomputed %+v", s.ID, s, f)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDuplicateAnswersFirstResultAndWarnsOnUnknownFields(t *testing.T) {
	t.Parallel()
	b := setupHook(t, store.SQLite, triggers.WebhookOptions{})
	body := []byte(`{"event_id": "e1", "customer": {"external_id": "c1", "email": "ann@example.com",
		"first_name": "Ann", "loyalty_tier": "gold"}, "order_id": "o1", "amount": 120, "occurred_at": "2026-02-01T10:00:00Z"}`)
	code, first := b.post(t, http.DefaultClient, triggers.PathPurchase, "e1", body)
	if code != http.StatusAccepted {
		t.Fatalf("first post: %d %s", code, first)
	}
	var res triggers.Result
	must(t, json.Unmarshal(first, &res))
	if res.EventID != "e1" || res.Status != "accepted" || len(res.Warnings) != 1 ||
		!strings.Contains(res.Warnings[0], "customer.loyalty_tier") {
		t.Fatalf("result = %+v, want accepted with a warning naming customer.loyalty_tier", res)
	}
	// The same event id with a different body: 200, the first answer, nothing written.
	changed := bytes.Replace(body, []byte(`"amount": 120`), []byte(`"amount": 999`), 1)
	code, again := b.post(t, http.DefaultClient, triggers.PathPurchase, "e1", changed)
	if code != http.StatusOK {
		t.Fatalf("duplicate: %d %s", code, again)
	}
	var res2 triggers.Result
	must(t, json.Unmarshal(again, &res2))
	if fmt.Sprint(res2) != fmt.Sprint(res) {
		t.Fatalf("duplicate answered %+v, want the first result %+v", res2, res)
	}
	c, err := b.st.CustomerByExternalID(context.Background(), "c1")
	must(t, err)
	if c.TotalSpentCents != 12000 || c.OrdersCount != 1 || c.Email != "ann@example.com" || c.FirstName != "Ann" {
		t.Fatalf("customer = %d cents, %d orders, %q %q; want the first event only", c.TotalSpentCents, c.OrdersCount, c.Email, c.FirstName)
	}
	if ids := b.reactions(); len(ids) != 1 {
		t.Fatalf("reactions = %v, want one", ids)
	}
}

func TestBatchEndpoint(t *testing.T) {
	t.Parallel()
	b := setupHook(t, store.Postgres, triggers.WebhookOptions{})
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var evs []json.RawMessage
	for i := range 5 {
		evs = append(evs, purchaseJSON(fmt.Sprintf("b%d", i), "c1", fmt.Sprintf("o%d", i), 1000, at.Add(time.Duration(i)*24*time.Hour)))
	}
	evs = append(evs, evs[0]) // repeated inside the batch
	body, _ := json.Marshal(map[string]any{"events": evs})
	code, answer := b.post(t, http.DefaultClient, triggers.PathPurchaseBatch, "batch-1", body)
	if code != http.StatusAccepted {
		t.Fatalf("batch: %d %s", code, answer)
	}
	var out struct{ Results []triggers.Result }
	must(t, json.Unmarshal(answer, &out))
	if len(out.Results) != 6 || out.Results[5].EventID != "b0" {
		t.Fatalf("results = %+v", out.Results)
	}
	c, err := b.st.CustomerByExternalID(context.Background(), "c1")
	must(t, err)
	if c.OrdersCount != 5 || c.TotalSpentCents != 5000 || c.AvgDaysBetween != 1 {
		t.Fatalf("customer metrics = %d orders, %d cents, %.2f days; want 5, 5000, 1", c.OrdersCount, c.TotalSpentCents, c.AvgDaysBetween)
	}
	code, _ = b.post(t, http.DefaultClient, triggers.PathPurchaseBatch, "batch-2", body)
	if code != http.StatusOK {
		t.Fatalf("batch again: %d, want 200 (all duplicates)", code)
	}
}
