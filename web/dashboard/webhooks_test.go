package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestWebhooksPageListsDeadLetters writes one delivered and one dead
// outgoing webhook to a real outbox and checks the page: the counts, the
// dead row with its last error, the replay command; and the link in the
// navigation.
func TestWebhooksPageListsDeadLetters(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			st.SetHookRoutes(store.HookRoutes{store.HookConversion: {"crm"}})
			now := time.Now()
			for _, key := range []string{"A-1", "A-2"} {
				if err := st.EmitHook(ctx, store.HookEvent{Type: store.HookConversion, Key: key, CustomerID: 7, At: now,
					Data: map[string]any{"order_id": key}}); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := st.ClaimDueHooks(ctx, now.Add(time.Second), 10, time.Minute)
			if err != nil || len(rows) != 1 {
				t.Fatalf("claimed %d rows (%v), want the customer's first only", len(rows), err)
			}
			if err := st.HookFailed(ctx, rows[0].ID, 10, "crm answered 502 Bad Gateway", now, true); err != nil {
				t.Fatal(err)
			}
			// The dead letter no longer holds back the customer's next event.
			next, err := st.ClaimDueHooks(ctx, now.Add(time.Second), 10, time.Minute)
			if err != nil || len(next) != 1 || next[0].ID == rows[0].ID {
				t.Fatalf("after the dead letter claimed %+v (%v), want the second row", next, err)
			}
			if err := st.HookDone(ctx, next[0].ID, 1, now); err != nil {
				t.Fatal(err)
			}

			h, err := New(Options{Source: fixedSource{}, Token: token, Hooks: st})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			r := get(t, srv, "/dashboard/webhooks", bearer(token))
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			for _, want := range []string{"0 pending · 1 delivered · <strong>1 dead</strong>", "crm answered 502 Bad Gateway",
				"tidings webhooks replay --all", `href="/dashboard/webhooks"`, "<td>conversion</td>"} {
				if !strings.Contains(r.body, want) {
					t.Errorf("page lacks %q:\n%s", want, r.body)
				}
			}
		})
	}
}
