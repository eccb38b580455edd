package triggers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
)

var dialects = []store.Dialect{store.SQLite, store.Postgres}

// eventsOf is the customer's events in the log, oldest first.
func eventsOf(t *testing.T, st *store.Store, external string) []store.StoredEvent {
	t.Helper()
	c, err := st.CustomerByExternalID(context.Background(), external)
	must(t, err)
	evs, err := st.CustomerEvents(context.Background(), c.ID, "", 1000)
	must(t, err)
	return evs
}

// TestAnyEventIsStoredOnceAndAnIDReusedIsRefused posts a cart event, the
// same event again written differently (keys reordered, spaces), then
// another event under the same webhook-id, on both databases: one row in
// the log, the repeat answered 200 as a duplicate with the first result,
// the reuse 409 naming the header, and one reaction.
func TestAnyEventIsStoredOnceAndAnIDReusedIsRefused(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := setupHook(t, d, triggers.WebhookOptions{})
			body := []byte(`{"type": "cart_updated", "customer": "c-42", "time": "2026-03-01T10:15:00Z",
				"properties": {"total": 84.5, "currency": "EUR", "items": 3}}`)
			code, first := b.post(t, http.DefaultClient, triggers.PathEvents, "msg_1", body)
			if code != http.StatusAccepted {
				t.Fatalf("first post: %d %s", code, first)
			}
			var res triggers.EventResult
			must(t, json.Unmarshal(first, &res))
			if res.ID != "msg_1" || res.Type != "cart_updated" || res.Status != "accepted" || res.Duplicate {
				t.Fatalf("result = %+v", res)
			}
			same := []byte(`{"customer":"c-42","properties":{"items":3,"currency":"EUR","total":84.50},
				"time":"2026-03-01T10:15:00Z","type":"cart_updated"}`)
			code, again := b.post(t, http.DefaultClient, triggers.PathEvents, "msg_1", same)
			must(t, json.Unmarshal(again, &res))
			if code != http.StatusOK || !res.Duplicate || res.Status != "accepted" {
				t.Fatalf("repeat: %d %s, want 200 with duplicate true", code, again)
			}
			other := []byte(`{"type": "cart_updated", "customer": "c-42", "time": "2026-03-01T10:15:00Z",
				"properties": {"total": 12}}`)
			code, refused := b.post(t, http.DefaultClient, triggers.PathEvents, "msg_1", other)
			var ae struct{ Code, Error, Field, Hint string }
			must(t, json.Unmarshal(refused, &ae))
			if code != http.StatusConflict || ae.Code != "id_reused" || ae.Field != triggers.HeaderID || ae.Hint == "" {
				t.Fatalf("reused id: %d %s, want 409 id_reused on webhook-id with a hint", code, refused)
			}
			evs := eventsOf(t, b.st, "c-42")
			if len(evs) != 1 || evs[0].Type != "cart_updated" || evs[0].EventID != "msg_1" ||
				!evs[0].OccurredAt.Equal(time.Date(2026, 3, 1, 10, 15, 0, 0, time.UTC)) {
				t.Fatalf("log = %+v, want the first event once", evs)
			}
			var props map[string]any
			must(t, json.Unmarshal(evs[0].Properties, &props))
			if props["total"] != 84.5 || props["currency"] != "EUR" {
				t.Fatalf("properties = %s", evs[0].Properties)
			}
			if ids := b.reactions(); len(ids) != 1 || ids[0] != "msg_1" {
				t.Fatalf("reactions = %v, want msg_1 once", ids)
			}
		})
	}
}

// TestEventsBatchAndPurchasesShareTheLog posts a batch of mixed events (a
// purchase among them, ids given and defaulted) and a purchase through the
// first round's endpoint, on both databases: every event is in the log, the
// purchases also record their orders and metrics, and the same batch again
// is all duplicates.
func TestEventsBatchAndPurchasesShareTheLog(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := setupHook(t, d, triggers.WebhookOptions{})
			body := []byte(`{"events": [
				{"type": "signup", "customer": "c-1", "time": "2026-03-01T09:00:00Z"},
				{"id": "view-1", "type": "product_viewed", "customer": "c-1", "time": "2026-03-01T09:05:00Z",
				 "properties": {"sku": "A1"}},
				{"type": "purchase", "customer": "c-1", "time": "2026-03-01T09:30:00Z",
				 "properties": {"order_id": "o-1", "amount": 30.25, "currency": "EUR"}}]}`)
			code, answer := b.post(t, http.DefaultClient, triggers.PathEventsBatch, "batch-a", body)
			if code != http.StatusAccepted {
				t.Fatalf("batch: %d %s", code, answer)
			}
			var out struct{ Results []triggers.EventResult }
			must(t, json.Unmarshal(answer, &out))
			if len(out.Results) != 3 || out.Results[0].ID != "batch-a/0" || out.Results[1].ID != "view-1" {
				t.Fatalf("results = %+v", out.Results)
			}
			code, _ = b.post(t, http.DefaultClient, triggers.PathPurchase, "p-2",
				purchaseJSON("p-2", "c-1", "o-2", 1000, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)))
			if code != http.StatusAccepted {
				t.Fatalf("purchase endpoint: %d", code)
			}
			var types []string
			for _, e := range eventsOf(t, b.st, "c-1") {
				types = append(types, e.Type)
			}
			if got := strings.Join(types, ","); got != "signup,product_viewed,purchase,purchase" {
				t.Fatalf("log types = %s", got)
			}
			c, err := b.st.CustomerByExternalID(context.Background(), "c-1")
			must(t, err)
			if c.OrdersCount != 2 || c.TotalSpentCents != 4025 {
				t.Fatalf("metrics = %d orders, %d cents; want 2, 4025", c.OrdersCount, c.TotalSpentCents)
			}
			code, answer = b.post(t, http.DefaultClient, triggers.PathEventsBatch, "batch-a", body)
			must(t, json.Unmarshal(answer, &out))
			if code != http.StatusOK || !out.Results[2].Duplicate {
				t.Fatalf("batch again: %d %s, want 200, all duplicates", code, answer)
			}
			if n := len(eventsOf(t, b.st, "c-1")); n != 4 {
				t.Fatalf("log holds %d events after the repeat, want 4", n)
			}
		})
	}
}

// TestAnyEventBadInput: each mistake is a 4xx in the {code, error, field,
// hint} shape naming the field, and nothing is written.
func TestAnyEventBadInput(t *testing.T) {
	t.Parallel()
	b := setupHook(t, store.SQLite, triggers.WebhookOptions{})
	future := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		name, path, body, field string
	}{
		{"type with spaces", triggers.PathEvents, `{"type": "Cart Updated", "customer": "c", "time": "2026-03-01T10:00:00Z"}`, "type"},
		{"no customer", triggers.PathEvents, `{"type": "signup", "time": "2026-03-01T10:00:00Z"}`, "customer"},
		{"no time", triggers.PathEvents, `{"type": "signup", "customer": "c"}`, "time"},
		{"time far ahead", triggers.PathEvents, `{"type": "signup", "customer": "c", "time": "` + future + `"}`, "time"},
		{"properties not an object", triggers.PathEvents, `{"type": "signup", "customer": "c", "time": "2026-03-01T10:00:00Z", "properties": [1]}`, "properties"},
		{"id in a single event", triggers.PathEvents, `{"id": "x", "type": "signup", "customer": "c", "time": "2026-03-01T10:00:00Z"}`, "id"},
		{"unknown field", triggers.PathEvents, `{"type": "signup", "customer": "c", "time": "2026-03-01T10:00:00Z", "props": {}}`, "props"},
		{"purchase without amount", triggers.PathEvents, `{"type": "purchase", "customer": "c", "time": "2026-03-01T10:00:00Z", "properties": {"order_id": "o"}}`, "properties.amount"},
		{"purchase with a stray property", triggers.PathEvents, `{"type": "purchase", "customer": "c", "time": "2026-03-01T10:00:00Z", "properties": {"order_id": "o", "amount": 1, "coupon": "X"}}`, "properties.coupon"},
		{"batch item", triggers.PathEventsBatch, `{"events": [{"type": "signup", "customer": "c", "time": "2026-03-01T10:00:00Z"}, {"type": "signup", "time": "2026-03-01T10:00:00Z"}]}`, "events[1].customer"},
		{"empty batch", triggers.PathEventsBatch, `{"events": []}`, "events"},
		{"not JSON", triggers.PathEvents, `{"type": `, "body"},
	}
	for i, c := range cases {
		code, answer := b.post(t, http.DefaultClient, c.path, fmt.Sprintf("bad-%d", i), []byte(c.body))
		var ae struct{ Code, Error, Field, Hint string }
		if err := json.Unmarshal(answer, &ae); err != nil || code != http.StatusBadRequest || ae.Code != "invalid_event" ||
			ae.Field != c.field || ae.Error == "" || ae.Hint == "" {
			t.Errorf("%s: %d %s; want 400 invalid_event on %s with an error and a hint", c.name, code, answer, c.field)
		}
	}
	headers := map[string]string{"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}
	code, answer := b.do(t, http.DefaultClient, triggers.PathEvents, headers, []byte(`{}`))
	var ae struct{ Code, Field, Hint string }
	must(t, json.Unmarshal(answer, &ae))
	if code != http.StatusUnauthorized || ae.Field != triggers.HeaderTimestamp || ae.Hint == "" {
		t.Errorf("stale timestamp: %d %s", code, answer)
	}
	assertNothingWritten(t, b.st)
}
