package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/worker"
)

const hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// hookReceiver is a subscriber's endpoint: it checks each request's
// Standard Webhooks signature, answers fail() (500) or 200, and keeps what
// it acknowledged, in arrival order.
type hookReceiver struct {
	srv      *httptest.Server
	verifier *triggers.Verifier
	mu       sync.Mutex
	fail     func(id string, try int) bool // answer 500 to this request (try: 1 for the first post of id)
	tries    map[string]int                // requests per webhook-id
	accepted []receivedHook                // acknowledged (2xx), in order
	badSigs  int
}

type receivedHook struct {
	ID   string
	Type string `json:"type"`
	Data struct {
		Customer   string `json:"customer"`
		DeliveryID int64  `json:"delivery_id"`
		Channel    string `json:"channel"`
		Source     string `json:"source"`
		Error      string `json:"error"`
	} `json:"data"`
}

func newHookReceiver(t *testing.T, fail func(id string, try int) bool) *hookReceiver {
	t.Helper()
	v, err := triggers.NewVerifier(hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	r := &hookReceiver{verifier: v, fail: fail, tries: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id := req.Header.Get(triggers.HeaderID)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := v.Verify(id, req.Header.Get(triggers.HeaderTimestamp), req.Header.Get(triggers.HeaderSignature), body); err != nil {
			r.badSigs++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.tries[id]++
		if r.fail(id, r.tries[id]) {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		h := receivedHook{ID: id}
		if err := json.Unmarshal(body, &h); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.accepted = append(r.accepted, h)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// byCustomer returns the acknowledged event types per customer, in order.
func (r *hookReceiver) byCustomer() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]string{}
	for _, h := range r.accepted {
		out[h.Data.Customer] = append(out[h.Data.Customer], h.Type)
	}
	return out
}

// sweepUntilSettled sweeps until no outbox row is pending.
func sweepUntilSettled(t *testing.T, st *store.Store, h *worker.Hooks) {
	t.Helper()
	ctx := context.Background()
	waitUntil(t, 20*time.Second, "the outbox to settle", func() bool {
		if _, err := h.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		n, err := st.HookCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n[store.HookPending] == 0
	})
}

// TestOutgoingWebhooksRetryOnceInOrder runs a newsletter to three customers
// (the third's address hard-bounces) and unsubscribes the first, with a
// subscriber of every event type whose endpoint answers 500 to the first
// request and 200 after. Every fact arrives acknowledged exactly once under
// one webhook-id (the 500'd one twice, under the same id), signed, and a
// customer's facts in the order they happened: c1's send before their
// unsubscribe, c3's failure before their bounce.
func TestOutgoingWebhooksRetryOnceInOrder(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.addCustomers(t, 3, nil)
			b.smtp.FailRecipient("customer3@example.com", 550, "5.1.1", -1)
			first := ""
			recv := newHookReceiver(t, func(id string, try int) bool { // under the receiver's lock
				if first == "" {
					first = id
				}
				return id == first && try == 1
			})
			hooks, err := worker.NewHooks(b.st, worker.HookOptions{Logger: quietLogger(),
				Subscribers: []worker.HookSubscriber{{Name: "crm", URL: recv.srv.URL, Secret: hookSecret, Events: store.HookTypes}},
				Backoff:     func(int) time.Duration { return 0 }})
			if err != nil {
				t.Fatal(err)
			}
			c := b.campaign(t, newsletterYAML)
			e := b.engineWith(t, worker.Options{}, c)
			b.acceptWorker(t, e, workerConfig{})
			ctx := context.Background()
			if err := e.Enqueue(ctx, "news", "first", time.Now()); err != nil {
				t.Fatal(err)
			}
			b.waitPlanned(t, "news", "first")
			waitUntil(t, 30*time.Second, "the run to settle", func() bool {
				n := b.counts(t, "news")
				return n[store.StatusSent] == 2 && n[store.StatusFailed] == 1
			})
			c1, err := b.st.CustomerByExternalID(ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			if err := b.st.SetConsent(ctx, c1.ID, channels.Email, false, store.ConsentUnsubscribe); err != nil {
				t.Fatal(err)
			}
			sweepUntilSettled(t, b.st, hooks)

			got := recv.byCustomer()
			want := map[string][]string{
				"c1": {store.HookMessageSent, store.HookCustomerUnsubscribed},
				"c2": {store.HookMessageSent},
				"c3": {store.HookMessageFailed, store.HookMessageBounced},
			}
			for cust, types := range want {
				if !slices.Equal(got[cust], types) {
					t.Errorf("%s: received %v, want %v in this order", cust, got[cust], types)
				}
			}
			recv.mu.Lock()
			defer recv.mu.Unlock()
			if recv.badSigs > 0 {
				t.Errorf("%d requests failed the signature check", recv.badSigs)
			}
			seen := map[string]bool{}
			for _, h := range recv.accepted {
				if seen[h.ID] {
					t.Errorf("webhook %s acknowledged twice", h.ID)
				}
				seen[h.ID] = true
			}
			if len(recv.accepted) != 5 {
				t.Errorf("acknowledged %d webhooks, want 5: %+v", len(recv.accepted), recv.accepted)
			}
			if recv.tries[first] != 2 {
				t.Errorf("the webhook answered 500 (%s) was posted %d times, want 2 (the 500, then the 200)", first, recv.tries[first])
			}
			n, err := b.st.HookCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n[store.HookDelivered] != 5 || n[store.HookDead] != 0 {
				t.Errorf("outbox %v, want 5 delivered", n)
			}
		})
	}
}
