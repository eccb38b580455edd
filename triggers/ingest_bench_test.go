package triggers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/internal/loadgen"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/worker"
	"github.com/tidings-crm/tidings/worker/redistest"
)

// Ingest benchmark shape: keep-alive clients posting single events for
// distinct customers, for TIDINGS_BENCH_DURATION (default 60 s).
const (
	ingestClients   = 32
	ingestCustomers = 10000
)

// ingestRun holds the figures measured once per process and kind of event:
// "make bench" runs a benchmark function more than once (b.N = 1, then
// -benchtime 3x), and one timed window is the measurement.
type ingestRun struct {
	once sync.Once
	figs loadgen.Result
	err  error
}

// The two kinds of ingest measured: purchases on /v1/events/purchase, and
// events of any type (carts, views, sign-ups and a few purchases) on
// /v1/events.
const (
	ingestPurchases = "purchase"
	ingestAny       = "any"
)

var ingestRuns = map[string]*ingestRun{ingestPurchases: {}, ingestAny: {}}

// BenchmarkWebhookIngest measures signed purchase events accepted per second
// by the real HTTP server (net/http on a loopback port, the production mux
// route, the real handler), storing in PostgreSQL and enqueuing each
// reaction on Redis as production does, with p50/p99 latency seen by the
// clients. It fails unless every accepted event is stored: one inbox row,
// one purchase and one queued reaction each. The clients run in the same
// process, on the same cores: they build and sign their events before the
// timed window (see presign), so the figure is the server's, not the
// clients' JSON and HMAC; sending, reading the answer and the latency clock
// stay inside the window.
func BenchmarkWebhookIngest(b *testing.B) { benchIngest(b, ingestPurchases) }

// BenchmarkEventIngest is BenchmarkWebhookIngest for events of any type on
// /v1/events: a mix of cart updates, product views, sign-ups and purchases
// (one in ten), each committed with its row in the events log (and, for a
// purchase, its order) before the answer. It fails unless accepted ==
// inbox rows == events log rows == queued reactions. Issue 16 asks for
// 3,000 events/s with p99 <= 50 ms on 2 cores with 32 clients.
func BenchmarkEventIngest(b *testing.B) { benchIngest(b, ingestAny) }

func benchIngest(b *testing.B, kind string) {
	run := ingestRuns[kind]
	run.once.Do(func() { run.figs, run.err = measureIngest(b, kind) })
	if run.err != nil {
		b.Fatal(run.err)
	}
	run.figs.Report(b, "events/s")
}

func measureIngest(b *testing.B, kind string) (loadgen.Result, error) {
	var figs loadgen.Result
	window, err := loadgen.Window(60 * time.Second)
	if err != nil {
		return figs, err
	}
	st := storetest.Open(b, store.Postgres)
	rdb, _ := redistest.Client(b)
	client := asynq.NewClientFromRedisClient(rdb)
	h, err := triggers.NewWebhook(triggers.WebhookOptions{Secrets: testSecret, Store: st,
		Reactor: &worker.Enqueuer{Client: client}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return figs, err
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+triggers.PathEvents, h) // as "tidings serve" routes it
	mux.Handle("POST /v1/events/", h)
	base, srv, err := loadgen.Serve(b, mux)
	if err != nil {
		return figs, err
	}
	url := base + triggers.PathPurchase
	if kind == ingestAny {
		url = base + triggers.PathEvents
	}
	hc, done := loadgen.Client(ingestClients)
	defer done()
	signed := presign(window, kind)
	figs, err = loadgen.Run(b, ingestClients, window, func(c, n int) (time.Duration, error) {
		id, body, hdr, err := signed[c].event(c, n)
		if err != nil {
			return 0, err
		}
		return postSigned(hc, url, id, body, hdr)
	})
	if err != nil {
		return figs, err
	}
	// A handler enqueues its reaction after the answer is out: let the last
	// ones finish before counting the queue.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return figs, fmt.Errorf("stop the server: %w", err)
	}
	return figs, checkStored(st, asynq.NewInspectorFromRedisClient(rdb), figs.N, kind)
}

// Pre-signing: the clients share the two cores with the server, so events
// are built and signed before the timed window (timestamp = its start), for up
// to ingestPresignRate events/s; a client past its share, or a window longer
// than the signature's tolerance allows, builds and signs as it goes.
const (
	ingestPresignRate = 4000
	ingestPresignMax  = 4 * time.Minute // stays within triggers.DefaultTolerance
)

// signedEvents is one client's events signed ahead: id, body and signature
// of each back to back in one byte slice, which the collector need not scan.
type signedEvents struct {
	buf  []byte
	ends []int // ends[3i], ends[3i+1], ends[3i+2]: where event i's id, body and signature end
	ts   time.Time
	rng  *rand.Rand // the event generator, continued by events built late
	kind string
}

func presign(window time.Duration, kind string) []signedEvents {
	out := make([]signedEvents, ingestClients)
	per := 0
	if window <= ingestPresignMax {
		per = int(window.Seconds()*ingestPresignRate) / ingestClients
	}
	ts := time.Now()
	for c := range out {
		e := &out[c]
		e.rng, e.ts, e.kind = rand.New(rand.NewPCG(uint64(c), 42)), ts, kind
		e.ends = make([]int, 0, 3*per)
		for n := range per {
			id, body := ingestEvent(e.rng, c, n, kind)
			sig, err := triggers.Sign(testSecret, id, ts, body)
			if err != nil {
				panic(err) // the test secret is valid
			}
			e.buf = append(e.buf, id...)
			e.ends = append(e.ends, len(e.buf))
			e.buf = append(e.buf, body...)
			e.ends = append(e.ends, len(e.buf))
			e.buf = append(e.buf, sig...)
			e.ends = append(e.ends, len(e.buf))
		}
	}
	return out
}

// event returns client c's event n with its signed headers.
func (e *signedEvents) event(c, n int) (string, []byte, map[string]string, error) {
	if 3*n+2 < len(e.ends) {
		lo := 0
		if n > 0 {
			lo = e.ends[3*n-1]
		}
		id, body := string(e.buf[lo:e.ends[3*n]]), e.buf[e.ends[3*n]:e.ends[3*n+1]]
		return id, body, map[string]string{triggers.HeaderID: id,
			triggers.HeaderTimestamp: strconv.FormatInt(e.ts.Unix(), 10),
			triggers.HeaderSignature: string(e.buf[e.ends[3*n+1]:e.ends[3*n+2]])}, nil
	}
	id, body := ingestEvent(e.rng, c, n, e.kind)
	hdr, err := triggers.SignHeaders(testSecret, id, time.Now(), body)
	return id, body, hdr, err
}

// ingestEvent is client c's event n for a random customer: a new order, or
// for kind ingestAny an event of a mixed type.
func ingestEvent(rng *rand.Rand, c, n int, kind string) (string, []byte) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	id := fmt.Sprintf("bench-%02d-%07d", c, n)
	if kind == ingestAny {
		return id, anyIngestEvent(rng, id, time.Now().Add(-time.Duration(rng.IntN(48*60))*time.Minute))
	}
	return id, fmt.Appendf(nil, `{"event_id": %q, "customer": {"external_id": "bench-c%05d"}, "order_id": %q,
		"amount": %d.%02d, "items": [{"sku": "A%d", "quantity": 1, "price": 9.99}], "occurred_at": %q}`,
		id, rng.IntN(ingestCustomers), id, rng.IntN(300), rng.IntN(100), rng.IntN(50),
		base.Add(time.Duration(rng.IntN(365*24*60))*time.Minute).Format(time.RFC3339))
}

// postSigned posts one signed event and returns its latency; anything but
// 202 is an error.
func postSigned(hc *http.Client, url, id string, body []byte, hdr map[string]string) (time.Duration, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("event %s: %w", id, err)
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("event %s: read answer: %w", id, err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("event %s: %d %s, want 202", id, resp.StatusCode, answer)
	}
	return took, nil
}

// anyIngestEvent is a /v1/events body of a mixed type at time at.
func anyIngestEvent(rng *rand.Rand, id string, at time.Time) []byte {
	cust := fmt.Sprintf("bench-c%05d", rng.IntN(ingestCustomers))
	ts := at.UTC().Format(time.RFC3339)
	switch r := rng.IntN(10); {
	case r == 0:
		return fmt.Appendf(nil, `{"type": "purchase", "customer": %q, "time": %q, "properties": {"order_id": %q,
			"amount": %d.%02d, "currency": "EUR"}}`, cust, ts, id, rng.IntN(300), rng.IntN(100))
	case r < 4:
		return fmt.Appendf(nil, `{"type": "cart_updated", "customer": %q, "time": %q, "properties": {"total": %d.5,
			"currency": "EUR", "items": %d}}`, cust, ts, rng.IntN(300), 1+rng.IntN(6))
	case r < 9:
		return fmt.Appendf(nil, `{"type": "product_viewed", "customer": %q, "time": %q, "properties": {"sku": "A%d"}}`,
			cust, ts, rng.IntN(500))
	}
	return fmt.Appendf(nil, `{"type": "signup", "customer": %q, "time": %q, "properties": {"source": "web"}}`, cust, ts)
}

// checkStored verifies accepted == inbox rows == events log rows (==
// purchases, for purchase ingest) == queued reactions.
func checkStored(st *store.Store, ins *asynq.Inspector, accepted int, kind string) error {
	ctx := context.Background()
	tables := []string{"webhook_inbox", "events", "purchases"}
	if kind == ingestAny {
		tables = tables[:2]
	}
	for _, table := range tables {
		var n int
		if err := st.DB.GetContext(ctx, &n, `SELECT count(*) FROM `+table); err != nil {
			return err
		}
		if n != accepted {
			return fmt.Errorf("%d events accepted but %d rows in %s", accepted, n, table)
		}
	}
	q, err := ins.GetQueueInfo(worker.QueueDeliver)
	if err != nil {
		return fmt.Errorf("read the reaction queue: %w", err)
	}
	if q.Size != accepted {
		return fmt.Errorf("%d events accepted but %d reactions queued", accepted, q.Size)
	}
	return nil
}
