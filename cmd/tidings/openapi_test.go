package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/openapi"
)

// everythingOn are the flags that turn on every route the server has (the
// admin API, the signed routes, inbound SMS, double opt-in, every feedback
// receiver), with the SMS provider sms (http or twilio, whose receipts
// have routes of their own).
func everythingOn(t *testing.T, sms string) []string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{"--database-url", storetest.URL(t, store.SQLite), "--campaigns", filepath.Join("..", "..", "examples", "campaigns"),
		"--double-opt-in", "confirm-signup", "--sms-provider", sms, "--sms-url", "http://127.0.0.1:9/sms", "--sms-from", "+15550001111",
		"--ses-feedback", "true", "--sendgrid-webhook-key", base64.StdEncoding.EncodeToString(der),
		"--postmark-webhook-auth", "pm:0123456789abcdef0123", "--mailgun-signing-key", "mg-key"}
	if sms == "twilio" {
		return append(flags, "--sms-account", "AC123", "--sms-token", "twilio-token", "--public-url", "https://tidings.example")
	}
	return append(flags, "--sms-inbound-secret", testWebhookSecret)
}

// notInTheAPI are the server's routes the document leaves out on purpose:
// the dashboard and the queue monitor (HTML for people, behind a login),
// and the catch-alls that answer a /v1/ request no route takes with the
// API's JSON 404 or 405 (openapi.NotFound, the events API's own).
var notInTheAPI = []string{"/dashboard", "/dashboard/", "/monitoring", "/monitoring/", "POST /v1/events/", "/v1/"}

var paramRE = regexp.MustCompile(`\{[^}]+\}`)

// route normalises "GET /v1/customers/{external_id}" to "GET /v1/customers/{}".
func route(method, path string) string {
	return strings.ToUpper(method) + " " + paramRE.ReplaceAllString(path, "{}")
}

// TestOpenAPIDocumentsEveryRoute walks the routes of the real server (with
// every optional route turned on) and the paths of the OpenAPI document
// served at /v1/openapi.json: each route served is documented, each
// documented method and path is served, and the document is valid OpenAPI 3.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	served := map[string]bool{}
	var raw []byte
	for _, sms := range []string{"http", "twilio"} {
		srv := serveHTTP(t, everythingOn(t, sms))
		for _, p := range srv.Config.Handler.(*openapi.Mux).Patterns() {
			if slices.Contains(notInTheAPI, p) {
				continue
			}
			method, path, ok := strings.Cut(p, " ")
			if !ok {
				t.Errorf("route %q has no method: give it one, or list it in notInTheAPI with why", p)
				continue
			}
			served[route(method, path)] = true
		}
		if sms == "http" {
			checkNoRoute(t, srv.URL)
		}
		res, err := http.Get(srv.URL + openapi.Path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %s %s", openapi.Path, res.Status, res.Header.Get("Content-Type"))
		}
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("the served document does not load as OpenAPI 3: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("the document is not valid OpenAPI 3: %v", err)
	}
	var plain struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &plain); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range plain.Paths {
		for method := range item {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			documented[route(method, path)] = true
		}
	}
	for r := range served {
		if !documented[r] {
			t.Errorf("%s is served but not in web/openapi/openapi.yaml: document it", r)
		}
	}
	for r := range documented {
		if !served[r] {
			t.Errorf("%s is in web/openapi/openapi.yaml but the server has no such route: remove it or fix its method/path", r)
		}
	}
	if len(served) < 35 {
		t.Errorf("only %d routes served: the server is not configured as expected", len(served))
	}
}

// checkNoRoute: a /v1/ path no route takes answers the API's JSON error
// pointing at the document: 405 with Allow for a known path, else 404.
func checkNoRoute(t *testing.T, base string) {
	t.Helper()
	for _, tc := range []struct {
		method, path string
		status       int
		allow, error string
	}{
		{http.MethodDelete, "/v1/customers/c-1", http.StatusMethodNotAllowed, "GET, PUT", "/v1/customers/c-1 does not take DELETE; it takes GET, PUT"},
		{http.MethodGet, "/v1/nothing", http.StatusNotFound, "", "no route GET /v1/nothing"},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Code, Error, Hint string }
		json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != tc.status || res.Header.Get("Allow") != tc.allow || body.Error != tc.error ||
			!strings.Contains(body.Hint, openapi.Path) {
			t.Errorf("%s %s: %d (Allow %q) %+v; want %d, Allow %q, %q and a hint naming %s",
				tc.method, tc.path, res.StatusCode, res.Header.Get("Allow"), body, tc.status, tc.allow, tc.error, openapi.Path)
		}
	}
}
