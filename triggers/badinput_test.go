package triggers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
)

const goodEvent = `{"event_id": "e1", "customer": {"external_id": "c1"}, "order_id": "o1", "amount": 10.5,
	"occurred_at": "2026-02-01T10:00:00Z"}`

// TestBadInputCorpus checks each bad request's exact status, that errors
// name the field, and that nothing at all was written.
func TestBadInputCorpus(t *testing.T) {
	t.Parallel()
	b := setupHook(t, store.Postgres, triggers.WebhookOptions{MaxBody: 4096})
	now := time.Now()
	signed := func(body string) map[string]string {
		h, err := triggers.SignHeaders(testSecret, "msg_1", now, []byte(body))
		must(t, err)
		return h
	}
	with := func(body, key, value string) map[string]string {
		h := signed(body)
		if value == "" {
			delete(h, key)
		} else {
			h[key] = value
		}
		return h
	}
	repl := func(old, new string) string { return strings.Replace(goodEvent, old, new, 1) }
	big := `{"event_id": "e1", "pad": "` + strings.Repeat("x", 5000) + `"}`
	stale := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
	other, _ := triggers.Sign("whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM=", "msg_1", now, []byte(goodEvent))
	cases := []struct {
		name    string
		headers map[string]string
		body    string
		status  int
		field   string
	}{
		{"no signature", with(goodEvent, triggers.HeaderSignature, ""), goodEvent, 401, ""},
		{"no id", with(goodEvent, triggers.HeaderID, ""), goodEvent, 401, ""},
		{"no timestamp", with(goodEvent, triggers.HeaderTimestamp, ""), goodEvent, 401, ""},
		{"signed by another secret", with(goodEvent, triggers.HeaderSignature, other), goodEvent, 401, ""},
		{"body altered after signing", signed(goodEvent), repl("10.5", "1000"), 401, ""},
		{"stale timestamp", with(goodEvent, triggers.HeaderTimestamp, stale), goodEvent, 401, ""},
		{"body over the limit", signed(big), big, 413, ""},
		{"not JSON", signed("hello"), "hello", 400, "body"},
		{"truncated JSON", signed(goodEvent[:40]), goodEvent[:40], 400, "body"},
		{"array", signed("[]"), "[]", 400, "body"},
		{"two objects", signed(goodEvent + goodEvent), goodEvent + goodEvent, 400, "body"},
	}
	for _, f := range []struct{ name, body, field string }{
		{"missing event_id", repl(`"event_id": "e1", `, ""), "event_id"},
		{"empty event_id", repl(`"e1"`, `" "`), "event_id"},
		{"missing customer", repl(`"customer": {"external_id": "c1"}, `, ""), "customer"},
		{"customer not object", repl(`{"external_id": "c1"}`, `"c1"`), "customer"},
		{"missing external_id", repl(`"external_id": "c1"`, `"email": "a@b.c"`), "customer.external_id"},
		{"bad email", repl(`"external_id": "c1"`, `"external_id": "c1", "email": "nope"`), "customer.email"},
		{"bad time zone", repl(`"external_id": "c1"`, `"external_id": "c1", "time_zone": "Mars/Olympus"`), "customer.time_zone"},
		{"bad birthday", repl(`"external_id": "c1"`, `"external_id": "c1", "birthday": "31/12/1990"`), "customer.birthday"},
		{"consent not bool", repl(`"external_id": "c1"`, `"external_id": "c1", "email_consent": "yes"`), "customer.email_consent"},
		{"missing order_id", repl(`"order_id": "o1", `, ""), "order_id"},
		{"order_id number", repl(`"o1"`, `42`), "order_id"},
		{"missing amount", repl(`"amount": 10.5,`, ""), "amount"},
		{"amount string", repl(`10.5`, `"10.5"`), "amount"},
		{"negative amount", repl(`10.5`, `-1`), "amount"},
		{"three decimals", repl(`10.5`, `10.505`), "amount"},
		{"huge amount", repl(`10.5`, `1e300`), "amount"},
		{"bad currency", repl(`"amount": 10.5,`, `"amount": 10.5, "currency": "euro",`), "currency"},
		{"missing occurred_at", repl(`"occurred_at": "2026-02-01T10:00:00Z"`, `"currency": "EUR"`), "occurred_at"},
		{"bad occurred_at", repl(`2026-02-01T10:00:00Z`, `yesterday`), "occurred_at"},
		{"unknown top-level field", repl(`"order_id"`, `"coupon": "X", "order_id"`), "coupon"},
		{"wrong type", repl(`"amount": 10.5,`, `"amount": 10.5, "type": "refund",`), "type"},
		{"items not array", repl(`"amount": 10.5,`, `"amount": 10.5, "items": {},`), "items"},
		{"item unknown field", repl(`"amount": 10.5,`, `"amount": 10.5, "items": [{"sku": "a", "colour": "red"}],`), "items[0].colour"},
		{"item bad quantity", repl(`"amount": 10.5,`, `"amount": 10.5, "items": [{"quantity": 1.5}],`), "items[0].quantity"},
		{"quantity not whole", repl(`"amount": 10.5,`, `"amount": 10.5, "quantity": 2.5,`), "quantity"},
		{"quantity disagrees with items", repl(`"amount": 10.5,`, `"amount": 10.5, "quantity": 3, "items": [{"quantity": 2}],`), "quantity"},
		{"NUL in a string", repl(`"o1"`, `"o\u00001"`), "order_id"},
	} {
		cases = append(cases, struct {
			name    string
			headers map[string]string
			body    string
			status  int
			field   string
		}{f.name, signed(f.body), f.body, 400, f.field})
	}
	batchBad := `{"events": [` + goodEvent + `, ` + repl(`10.5`, `"x"`) + `]}`
	cases = append(cases, struct {
		name    string
		headers map[string]string
		body    string
		status  int
		field   string
	}{"batch with one bad event", signed(batchBad), batchBad, 400, "events[1].amount"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := triggers.PathPurchase
			if strings.HasPrefix(tc.name, "batch") {
				path = triggers.PathPurchaseBatch
			}
			code, answer := b.do(t, http.DefaultClient, path, tc.headers, []byte(tc.body))
			if code != tc.status {
				t.Fatalf("status %d (%s), want %d", code, answer, tc.status)
			}
			var e struct{ Error, Field, Message string }
			if err := json.Unmarshal(answer, &e); err != nil || e.Error == "" || e.Message == "" {
				t.Fatalf("answer is not a JSON error: %s", answer)
			}
			if e.Field != tc.field {
				t.Fatalf("field = %q, want %q (%s)", e.Field, tc.field, e.Message)
			}
		})
	}
	assertNothingWritten(t, b.st)
}

func assertNothingWritten(t *testing.T, st *store.Store) {
	t.Helper()
	for _, table := range []string{"customers", "purchases", "webhook_inbox", "events"} {
		var n int
		must(t, st.DB.GetContext(context.Background(), &n, `SELECT count(*) FROM `+table))
		if n != 0 {
			t.Errorf("%d rows in %s after bad requests, want none", n, table)
		}
	}
}

// FuzzPurchaseHandler posts validly signed arbitrary bodies: the handler
// never panics and never answers 500 (client mistakes are 4xx).
func FuzzPurchaseHandler(f *testing.F) {
	f.Add([]byte(goodEvent))
	f.Add([]byte(`{"events": [` + goodEvent + `]}`))
	f.Add([]byte(`{"event_id": "e2", "customer": {"external_id": "c2", "email": "x@y.z", "time_zone": "Europe/Paris",
		"birthday": "1990-02-29", "x": 1}, "order_id": "o2", "amount": 0.01, "currency": "eur",
		"items": [{"sku": "s", "name": "n", "category": "c", "quantity": 2, "price": 1.5}], "quantity": 2, "occurred_at": "2026-01-01T00:00:00.123456789+05:45"}`))
	f.Add([]byte(`{"event_id": "\u0000", "amount": 1e999}`))
	f.Add([]byte(`{"customer": {"external_id": {"a": [1, 2]}}}`))
	b := setupHook(f, store.SQLite, triggers.WebhookOptions{})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{triggers.PathPurchase, triggers.PathPurchaseBatch} {
			code, answer := b.post(t, http.DefaultClient, path, "msg_fuzz", body)
			switch code {
			case 200, 202, 400, 413:
			default:
				t.Fatalf("%s answered %d: %s", path, code, answer)
			}
		}
	})
}
