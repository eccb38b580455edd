package tracking_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/tracking"
	"github.com/tidings-crm/tidings/web/unsubscribe"
	"github.com/tidings-crm/tidings/worker"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// browser is a person's user agent.
const browser = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// bundle is one test's store, recorder and running handler.
type bundle struct {
	st       *store.Store
	tokens   tracking.Tokens
	rec      *tracking.Recorder
	srv      *httptest.Server
	client   *http.Client // never follows redirects
	customer int64
	reactor  *reactor
}

// reactor records the events whose reaction the recorder enqueued.
type reactor struct {
	mu  sync.Mutex
	ids []string
}

func (r *reactor) EnqueueEvent(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
	return nil
}

func setup(t *testing.T, d store.Dialect) *bundle {
	t.Helper()
	st := storetest.Open(t, d)
	ctx := context.Background()
	email := "ada@example.com"
	if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "ada", Email: &email}}); err != nil {
		t.Fatal(err)
	}
	c, err := st.CustomerByExternalID(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{st: st, tokens: tracking.Tokens{Signer: unsubscribe.Signer{Key: testKey}}, customer: c.ID, reactor: &reactor{}}
	b.rec = tracking.NewRecorder(tracking.RecorderOptions{Store: st, Reactor: b.reactor, Every: time.Hour})
	t.Cleanup(func() { b.rec.Close(context.Background()) })
	h, err := tracking.Handler(tracking.Options{Tokens: b.tokens, Recorder: b.rec})
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(h)
	t.Cleanup(b.srv.Close)
	b.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return b
}

// delivery writes a sent ledger row of campaign for the customer.
func (b *bundle) delivery(t *testing.T, campaign, variant string) int64 {
	t.Helper()
	rows, err := b.st.InsertDeliveries(context.Background(), []store.NewDelivery{{CampaignID: campaign,
		CustomerID: b.customer, Occurrence: "2026-12-01", Channel: channels.Email, Variant: variant,
		Status: store.StatusPending}}, time.Now())
	if err != nil || len(rows) != 1 {
		t.Fatalf("insert delivery: %v %v", rows, err)
	}
	return rows[0].ID
}

// link is a tracked link of delivery id, sent an hour ago.
func (b *bundle) link(id int64, kind tracking.Kind, url string) tracking.Link {
	return tracking.Link{Kind: kind, DeliveryID: id, CustomerID: b.customer, Campaign: "news",
		SentAt: time.Now().Add(-time.Hour).Truncate(time.Second), Index: 0, URL: url}
}

// get fetches a tracked URL with a user agent and returns the response.
func (b *bundle) get(t *testing.T, method, url, agent string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("User-Agent", agent)
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func (b *bundle) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestClickRedirectsOnlySignedURLs: a signed link redirects to exactly its
// URL, query and fragment included, and its click is stored with an
// email_clicked event; a token altered in any way, signed with another
// key, of another kind (the pixel, an unsubscribe link) or not a token at
// all answers 400 without a Location.
func TestClickRedirectsOnlySignedURLs(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := setup(t, d)
			id := b.delivery(t, "news", "")
			dest := "https://shop.example/sale?utm_source=tidings&q=a%20b&x=1&x=2#size-42"
			good := b.tokens.URL(b.srv.URL, b.link(id, tracking.KindClick, dest))
			res := b.get(t, "GET", good, browser)
			if res.StatusCode != http.StatusFound || res.Header.Get("Location") != dest {
				t.Fatalf("signed link: %d Location %q, want 302 to %q", res.StatusCode, res.Header.Get("Location"), dest)
			}
			token := good[strings.LastIndex(good, "/")+1:]
			body, sig, _ := strings.Cut(token, ".")
			other := tracking.Tokens{Signer: unsubscribe.Signer{Key: []byte("another-key-another-key-another!!")}}
			evil := b.link(id, tracking.KindClick, "https://evil.example/")
			bad := map[string]string{
				"payload changed":   flip(body) + "." + sig,
				"signature changed": body + "." + flip(sig),
				"cut short":         token[:len(token)-3],
				"no signature":      body,
				"another key":       other.Sign(evil),
				"the open pixel":    b.tokens.Sign(b.link(id, tracking.KindOpen, "")),
				"unsubscribe token": b.tokens.Signer.Sign(unsubscribe.Subject{DeliveryID: id, CustomerID: b.customer, Channel: channels.Email, Campaign: "news"}),
				"not a token":       "https%3A%2F%2Fevil.example",
			}
			for name, tok := range bad {
				res := b.get(t, "GET", b.srv.URL+"/c/"+tok, browser)
				if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
					t.Errorf("%s: %d Location %q, want 400 and no redirect", name, res.StatusCode, res.Header.Get("Location"))
				}
			}
			b.flush(t)
			e, err := b.st.EngagementOf(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if e.Clicks != 1 || e.MachineClicks != 0 || e.FirstClickAt == nil || e.CampaignID != "news" {
				t.Errorf("engagement %+v, want one human click", e)
			}
			evs, err := b.st.CustomerEvents(context.Background(), b.customer, tracking.EventClicked, 10)
			if err != nil || len(evs) != 1 {
				t.Fatalf("email_clicked events: %v %v, want 1", evs, err)
			}
			var props map[string]any
			json.Unmarshal(evs[0].Properties, &props)
			if props["url"] != dest || props["campaign"] != "news" || props["delivery"] != float64(id) {
				t.Errorf("event properties %v", props)
			}
			if len(b.reactor.ids) != 1 || b.reactor.ids[0] != evs[0].EventID {
				t.Errorf("reactions enqueued %v, want the event %s", b.reactor.ids, evs[0].EventID)
			}
			// The reaction reads the stored event as one of /v1/events.
			engine := worker.NewEngine(b.st, nil, nil, worker.Options{})
			if err := engine.ProcessEvent(context.Background(), evs[0].EventID); err != nil {
				t.Fatalf("reaction: %v", err)
			}
			if row, err := b.st.InboxEvent(context.Background(), evs[0].EventID); err != nil || row.Status != store.InboxProcessed {
				t.Errorf("inbox row after the reaction: %+v %v", row, err)
			}
		})
	}
}

// flip changes the first character of s to another of the token alphabet.
func flip(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

// TestMachinesCountedApart: Apple Mail Privacy Protection's pixel fetch, a
// click seconds after the send, a HEAD request and a followed honeypot are
// machines'; they write no event. A person's opens write one email_opened
// event (the first), the pixel is never cached.
func TestMachinesCountedApart(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := setup(t, d)
			ctx := context.Background()
			person, scanned, honey := b.delivery(t, "news", "a"), b.delivery(t, "news-2", "b"), b.delivery(t, "news-3", "")

			open := b.tokens.URL(b.srv.URL, b.link(person, tracking.KindOpen, ""))
			res := b.get(t, "GET", open, "Mozilla/5.0") // Apple's proxy
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/gif" ||
				!strings.Contains(res.Header.Get("Cache-Control"), "no-cache") {
				t.Fatalf("pixel: %d %v", res.StatusCode, res.Header)
			}
			b.get(t, "GET", open, browser)
			b.get(t, "GET", open, browser)
			b.get(t, "GET", b.tokens.URL(b.srv.URL, b.link(person, tracking.KindClick, "https://shop.example/")), browser)

			fresh := b.link(scanned, tracking.KindClick, "https://shop.example/")
			fresh.SentAt = time.Now().Truncate(time.Second)
			b.get(t, "GET", b.tokens.URL(b.srv.URL, fresh), browser)                                                                       // 0 s after the send
			b.get(t, "HEAD", b.tokens.URL(b.srv.URL, b.link(scanned, tracking.KindClick, "https://shop.example/")), browser)               // a link checker
			b.get(t, "GET", b.tokens.URL(b.srv.URL, b.link(scanned, tracking.KindClick, "https://shop.example/")), "")                     // no agent
			b.get(t, "GET", b.tokens.URL(b.srv.URL, b.link(honey, tracking.KindClick, "https://shop.example/")), browser)                  // looks human...
			if res := b.get(t, "GET", b.tokens.URL(b.srv.URL, b.link(honey, tracking.KindHoneypot, "")), browser); res.StatusCode != 204 { // ...but follows the honeypot
				t.Errorf("honeypot: %d, want 204", res.StatusCode)
			}
			b.flush(t)

			want := map[int64]store.Engagement{
				person:  {Opens: 2, MachineOpens: 1, Clicks: 1},
				scanned: {MachineClicks: 3},
				honey:   {Clicks: 1},
			}
			for id, w := range want {
				e, err := b.st.EngagementOf(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if e.Opens != w.Opens || e.MachineOpens != w.MachineOpens || e.Clicks != w.Clicks || e.MachineClicks != w.MachineClicks {
					t.Errorf("delivery %d: %+v, want %+v", id, e, w)
				}
				if (e.HoneypotAt != nil) != (id == honey) {
					t.Errorf("delivery %d: honeypot at %v", id, e.HoneypotAt)
				}
			}
			opened, _ := b.st.CustomerEvents(ctx, b.customer, tracking.EventOpened, 10)
			clicked, _ := b.st.CustomerEvents(ctx, b.customer, tracking.EventClicked, 10)
			if len(opened) != 1 || len(clicked) != 1 {
				t.Errorf("events: %d opened, %d clicked; want 1 and 1 (machines and the honeypot's delivery write none)", len(opened), len(clicked))
			}
			arms, err := b.st.CampaignEngagement(ctx, "news-3")
			if err != nil || len(arms) != 1 || arms[0].Clicked != 0 || arms[0].MachineClicked != 1 {
				t.Errorf("honeypot campaign report %+v %v: its click counts as a machine's", arms, err)
			}
			arms, err = b.st.CampaignEngagement(ctx, "news")
			if err != nil || len(arms) != 1 || arms[0] != (store.ArmEngagement{Variant: "a", Opened: 1, MachineOpened: 1, Clicked: 1, Clicks: 1}) {
				t.Errorf("campaign report %+v %v", arms, err)
			}
		})
	}
}

// TestCloseWritesQueuedHits: a graceful shutdown writes every queued hit.
func TestCloseWritesQueuedHits(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	id := b.delivery(t, "news", "")
	rec := tracking.NewRecorder(tracking.RecorderOptions{Store: b.st, Every: time.Hour, Batch: 1 << 20})
	for range 500 {
		if !rec.Record(tracking.Hit{Link: b.link(id, tracking.KindClick, "https://shop.example/"), At: time.Now()}) {
			t.Fatal("hit dropped")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := b.st.EngagementOf(ctx, id)
	if err != nil || e.Clicks != 500 {
		t.Fatalf("after close: %+v %v, want 500 clicks", e, err)
	}
	if rec.Record(tracking.Hit{Link: b.link(id, tracking.KindClick, "https://shop.example/"), At: time.Now()}) {
		t.Error("a closed recorder took a hit")
	}
}
