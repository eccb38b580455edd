package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/triggers"
)

// signedDo sends body with method to url, signed with testWebhookSecret
// (as the shop's systems do), and returns the status and answer.
func signedDo(t *testing.T, method, url, id string, body string) (int, string) {
	t.Helper()
	h, err := triggers.SignHeaders(testWebhookSecret, id, time.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// emptyWorld is a migrated database of dialect d with no campaign, and the
// flags that serve it.
func emptyWorld(t *testing.T, d store.Dialect) (*store.Store, []string) {
	t.Helper()
	url := storetest.URL(t, d)
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, []string{"--database-url", url, "--campaigns", t.TempDir()}
}

// withExample copies examples/campaigns/name into the campaigns folder of
// emptyWorld's flags.
func withExample(t *testing.T, flags []string, name string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "campaigns", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(flags[3], name), src, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestProfilesAPI: PUT /v1/customers/{id} and the batch are signed like
// /v1/events, validate like the CSV import with an error per field, are
// idempotent, record consent with its source, and GET (admin) answers the
// profile; on both databases.
func TestProfilesAPI(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			st, flags := emptyWorld(t, d)
			srv := serveHTTP(t, flags)
			ctx := context.Background()
			if err := st.Suppress(ctx, "email", "gone@example.com", store.SuppressErased, 0); err != nil {
				t.Fatal(err)
			}
			ada := `{"email": "ada@example.com", "first_name": "Ada", "tags": ["vip"], "attributes": {"tier": "gold"},
				"consents": {"email": {"granted": true, "source": "checkout-form"}}}`
			if code, _ := bearerDo(t, "PUT", srv.URL+"/v1/customers/ada", "s3cret-admin", ada); code != http.StatusUnauthorized {
				t.Fatalf("unsigned PUT: %d, want 401", code)
			}
			if code, body := signedDo(t, "PUT", srv.URL+"/v1/customers/ada", "p1", ada); code != http.StatusCreated ||
				!strings.Contains(body, `"status": "created"`) {
				t.Fatalf("PUT: %d %s, want 201 created", code, body)
			}
			if code, body := signedDo(t, "PUT", srv.URL+"/v1/customers/ada", "p2", ada); code != http.StatusOK ||
				!strings.Contains(body, `"status": "unchanged"`) {
				t.Fatalf("PUT again: %d %s, want 200 unchanged", code, body)
			}
			code, body := signedDo(t, "PUT", srv.URL+"/v1/customers/ada", "p3", `{"email": "ada@", "birthday": "1990-13-01"}`)
			var fail struct {
				Code   string `json:"code"`
				Errors []struct{ Field, Error string }
			}
			if code != http.StatusBadRequest || json.Unmarshal([]byte(body), &fail) != nil || fail.Code != "invalid_profile" ||
				len(fail.Errors) != 2 || fail.Errors[0].Field != "birthday" || fail.Errors[1].Field != "email" {
				t.Fatalf("bad PUT: %d %s, want 400 naming birthday and email", code, body)
			}

			batch := `{"customers": [{"external_id": "bob", "phone": "+33612345678", "consents": {"sms": {"granted": true}}},
				{"external_id": "eve", "email": "gone@example.com", "consents": {"email": {"granted": true}}},
				{"external_id": "bad", "phone": "12"},
				{"external_id": "ada", "consents": {"email": {"granted": false, "source": "preference-centre"}}}]}`
			code, body = signedDo(t, "POST", srv.URL+"/v1/customers/batch", "b1", batch)
			var res struct {
				Results []struct {
					ExternalID string `json:"external_id"`
					Status     string
					Errors     []struct{ Field string }
				}
			}
			if code != http.StatusMultiStatus || json.Unmarshal([]byte(body), &res) != nil || len(res.Results) != 4 {
				t.Fatalf("batch: %d %s, want 207 with 4 results", code, body)
			}
			for i, want := range []string{"created", "created", "invalid", "updated"} {
				if res.Results[i].Status != want {
					t.Errorf("batch item %d: %+v, want %s", i, res.Results[i], want)
				}
			}
			if e := res.Results[2].Errors; len(e) != 1 || e[0].Field != "customers[2].phone" {
				t.Errorf("the bad item's errors %+v, want customers[2].phone", e)
			}
			if _, err := st.CustomerByExternalID(ctx, "bad"); err == nil {
				t.Error("the invalid batch item was stored")
			}
			if eve, err := st.CustomerByExternalID(ctx, "eve"); err != nil || eve.EmailConsent {
				t.Errorf("eve, an erased address: %+v %v, want created without email consent", eve, err)
			}

			code, b := bearerDo(t, "GET", srv.URL+"/v1/customers/ada", "", "")
			if code != http.StatusUnauthorized {
				t.Fatalf("GET without the token: %d", code)
			}
			code, b = bearerDo(t, "GET", srv.URL+"/v1/customers/ada", "s3cret-admin", "")
			var view store.ProfileView
			if code != http.StatusOK || json.Unmarshal(b, &view) != nil {
				t.Fatalf("GET: %d %s", code, b)
			}
			if view.Profile["email"] != "ada@example.com" || view.Profile["email_consent"] != false ||
				!bytes.Contains(b, []byte(`"tier": "gold"`)) || len(view.ConsentHistory) != 2 ||
				view.ConsentHistory[0].Source != "checkout-form" || view.ConsentHistory[1].Source != "preference-centre" {
				t.Fatalf("GET ada: %s", b)
			}
		})
	}
}

// TestSendAPI: POST /v1/send is signed, answers 202 with the delivery once
// its ledger row is committed, 200 with the same delivery for a repeat of
// the key, 409 for the key with other data, 404 for an unknown customer.
func TestSendAPI(t *testing.T) {
	t.Parallel()
	st, flags := emptyWorld(t, store.SQLite)
	withExample(t, flags, "order-receipt.yaml")
	srv := serveHTTP(t, flags)
	if code, body := signedDo(t, "PUT", srv.URL+"/v1/customers/ada", "p1",
		`{"email": "ada@example.com", "consents": {"email": {"granted": true}}}`); code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", code, body)
	}
	req := `{"campaign": "order-receipt", "customer": "ada", "data": {"order_id": "A-1001"}, "idempotency_key": "receipt-A-1001"}`
	if code, _ := bearerDo(t, "POST", srv.URL+"/v1/send", "s3cret-admin", req); code != http.StatusUnauthorized {
		t.Fatalf("unsigned send: %d, want 401", code)
	}
	code, body := signedDo(t, "POST", srv.URL+"/v1/send", "s1", req)
	var first struct {
		DeliveryID int64  `json:"delivery_id"`
		Status     string `json:"status"`
	}
	if code != http.StatusAccepted || json.Unmarshal([]byte(body), &first) != nil || first.Status != "pending" {
		t.Fatalf("send: %d %s, want 202 pending", code, body)
	}
	if d, err := st.Delivery(context.Background(), first.DeliveryID); err != nil || d.Occurrence != "receipt-A-1001" {
		t.Fatalf("the ledger row of the send: %+v %v", d, err)
	}
	if code, again := signedDo(t, "POST", srv.URL+"/v1/send", "s2", req); code != http.StatusOK ||
		!strings.Contains(again, `"duplicate": true`) || !strings.Contains(again, `"delivery_id": `+jsonNumber(first.DeliveryID)) {
		t.Fatalf("repeat: %d %s, want 200 with the same delivery", code, again)
	}
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{strings.Replace(req, "A-1001\"}", "A-1002\"}", 1), http.StatusConflict, `"code": "id_reused"`},
		{strings.Replace(req, `"ada"`, `"nobody"`, 1), http.StatusNotFound, `"field": "customer"`},
		{strings.Replace(req, "order-receipt", "no-such", 1), http.StatusNotFound, `"field": "campaign"`},
		{`{"campaign": "order-receipt", "customer": "ada"}`, http.StatusBadRequest, `"field": "idempotency_key"`},
	} {
		if code, body := signedDo(t, "POST", srv.URL+"/v1/send", "s3", tc.body); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("send %s: %d %s, want %d with %s", tc.body, code, body, tc.code, tc.want)
		}
	}
}
