package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/store"
)

// TestDoubleOptInThroughServe: with --double-opt-in, PUT /v1/customers
// answers consent_pending and grants nothing; the confirmation link queued
// for the customer is served by serve at /confirm/{token}: its GET shows a
// button and changes nothing (link scanners follow GETs), its POST starts
// the consent, a tampered link is refused. The preference page /p/ is
// served too. serve refuses a double opt-in campaign that does not exist.
func TestDoubleOptInThroughServe(t *testing.T) {
	t.Parallel()
	st, flags := emptyWorld(t, store.SQLite)
	withExample(t, flags, "confirm-signup.yaml")
	ctx := context.Background()
	if rt, err := testApp(t, append(flags, "--double-opt-in", "no-such")).openRuntime(ctx, true); err == nil ||
		!strings.Contains(err.Error(), "TIDINGS_DOUBLE_OPT_IN") {
		if rt != nil {
			rt.close()
		}
		t.Fatalf("serve with an unknown confirmation campaign: %v, want an error naming TIDINGS_DOUBLE_OPT_IN", err)
	}
	srv := serveHTTP(t, append(flags, "--double-opt-in", "confirm-signup"))
	code, body := signedDo(t, "PUT", srv.URL+"/v1/customers/ada", "p1", `{"email": "ada@example.com", "consents": {"email": {"granted": true}}}`)
	if code != http.StatusCreated || !strings.Contains(body, `"consent_pending": [`) {
		t.Fatalf("PUT: %d %s, want 201 with consent_pending", code, body)
	}
	ada, err := st.CustomerByExternalID(ctx, "ada")
	if err != nil || ada.EmailConsent {
		t.Fatalf("ada %+v %v: consent before confirming", ada, err)
	}
	var id int64
	if err := st.DB.QueryRowContext(ctx, `SELECT id FROM deliveries WHERE campaign_id = 'confirm-signup'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	data, err := st.TransactionalData(ctx, id)
	link, _ := data["confirm_url"].(string)
	if err != nil || !strings.Contains(link, "/confirm/") {
		t.Fatalf("the confirmation's data %v %v: no confirm_url", data, err)
	}
	local := srv.URL + link[strings.Index(link, "/confirm/"):]
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, page := get(local); code != http.StatusOK || !strings.Contains(page, `<form method="post"`) {
		t.Fatalf("GET the link: %d\n%s", code, page)
	}
	if ada, _ = st.CustomerByExternalID(ctx, "ada"); ada.EmailConsent {
		t.Fatal("a GET of the link granted consent")
	}
	if code, _ := get(local + "x"); code != http.StatusBadRequest {
		t.Fatalf("a tampered link: %d, want 400", code)
	}
	resp, err := http.Post(local, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="confirmed"`) {
		t.Fatalf("POST the link: %d\n%s", resp.StatusCode, page)
	}
	if ada, _ = st.CustomerByExternalID(ctx, "ada"); !ada.EmailConsent {
		t.Fatal("the confirmation did not grant consent")
	}
	if code, _ := get(srv.URL + "/p/not-a-token"); code != http.StatusBadRequest {
		t.Fatalf("the preference page route: %d, want 400 for a bad token (404: not served)", code)
	}
}
