package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/worker"
)

// TestWebhooksDeadLetterAndReplay gives a subscriber whose endpoint is down
// a customer's unsubscribe: after the retry budget (3 posts) the webhook is
// dead, `tidings webhooks list --dead` shows it and no post is made any
// more; once the endpoint is back, `tidings webhooks replay --id` puts it
// back and the next sweep delivers it, signed, under the same webhook-id.
func TestWebhooksDeadLetterAndReplay(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			testWebhooksDeadLetterAndReplay(t, dialect)
		})
	}
}

func testWebhooksDeadLetterAndReplay(t *testing.T, dialect store.Dialect) {
	ctx := context.Background()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	verifier, err := triggers.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	var up atomic.Bool
	var mu sync.Mutex
	posts := map[string]int{}
	var delivered []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get(triggers.HeaderID)
		if err := verifier.Verify(id, r.Header.Get(triggers.HeaderTimestamp), r.Header.Get(triggers.HeaderSignature), body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		posts[id]++
		if !up.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		delivered = append(delivered, id)
	}))
	defer srv.Close()

	url := storetest.URL(t, dialect)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	hooks, err := worker.NewHooks(st, worker.HookOptions{MaxAttempts: 3, Backoff: func(int) time.Duration { return 0 },
		Subscribers: []worker.HookSubscriber{{Name: "crm", URL: srv.URL, Secret: secret,
			Events: []string{store.HookCustomerUnsubscribed}}}})
	if err != nil {
		t.Fatal(err)
	}
	yes, addr := true, "ann@example.com"
	if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "ann", Email: &addr, EmailConsent: &yes}}); err != nil {
		t.Fatal(err)
	}
	ann, err := st.CustomerByExternalID(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetConsent(ctx, ann.ID, channels.Email, false, store.ConsentUnsubscribe); err != nil {
		t.Fatal(err)
	}
	for range 5 { // more sweeps than the budget: the dead row is not posted again
		if _, err := hooks.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	dead, err := st.Hooks(ctx, store.HookDead, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Attempts != 3 || !strings.Contains(dead[0].LastError, "503") {
		t.Fatalf("dead letters %+v, want the one unsubscribe after 3 attempts with the 503", dead)
	}
	id := dead[0].MessageID()
	mu.Lock()
	if posts[id] != 3 {
		t.Errorf("posted %d times, want 3 (the budget)", posts[id])
	}
	mu.Unlock()

	flags := []string{"--database-url", url, "--campaigns", t.TempDir()}
	code, out, errOut := cli(t, append(flags, "webhooks", "list", "--dead")...)
	if code != 0 || !strings.Contains(out, "customer.unsubscribed") || !strings.Contains(out, "1 dead webhooks") {
		t.Fatalf("webhooks list --dead: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := cli(t, append(flags, "webhooks", "replay")...); code == 0 || !strings.Contains(errOut, "--id ID") {
		t.Errorf("webhooks replay without --id or --all: exit %d, want an error naming them\n%s%s", code, out, errOut)
	}
	up.Store(true)
	code, out, errOut = cli(t, append(flags, "webhooks", "replay", "--id", fmt.Sprint(dead[0].ID))...)
	if code != 0 || !strings.Contains(out, "replayed 1 webhooks") {
		t.Fatalf("webhooks replay: exit %d\n%s%s", code, out, errOut)
	}
	rep, err := hooks.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if rep.Delivered != 1 || len(delivered) != 1 || delivered[0] != id {
		t.Fatalf("after replay: sweep %+v, receiver got %v; want %s delivered once", rep, delivered, id)
	}
	if n, err := st.HookCounts(ctx); err != nil || n[store.HookDelivered] != 1 || n[store.HookDead] != 0 {
		t.Errorf("outbox %v (%v), want 1 delivered, none dead", n, err)
	}
}

// TestWebhooksFileErrorsSayWhatToFix checks the subscribers file's errors.
func TestWebhooksFileErrorsSayWhatToFix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct{ file, want string }{
		{"subscribers:\n  - name: crm\n    url: https://crm.example/hooks\n    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n    events: [message.snt]\n",
			`unknown event "message.snt"`},
		{"subscribers:\n  - name: crm\n    url: ftp://crm.example\n    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n    events: [conversion]\n",
			"absolute http:// or https:// URL"},
		{"subscribers:\n  - name: crm\n    url: https://crm.example\n    secret_env: TIDINGS_TEST_NO_SUCH_SECRET\n    events: [conversion]\n",
			"secret_env TIDINGS_TEST_NO_SUCH_SECRET is not set"},
		{"subscribers:\n  - name: crm\n    urll: https://crm.example\n", "field urll not found"},
	} {
		path := filepath.Join(dir, fmt.Sprintf("hooks%d.yaml", len(c.want)))
		if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := cli(t, "--webhooks", path, "validate", "../../examples/campaigns")
		if code == 0 || !strings.Contains(errOut, "TIDINGS_WEBHOOKS") || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, want an error naming TIDINGS_WEBHOOKS and %q\n%s%s", c.file, code, c.want, out, errOut)
		}
	}
}
