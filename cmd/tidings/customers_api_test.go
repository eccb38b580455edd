package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestCustomerRoutesAndConsentMetrics: the admin API's customer routes need
// the token; a consent change by an operator and an erasure are counted in
// /metrics by source beside the imports', the export shows the history,
// and an erased customer's export holds no address.
func TestCustomerRoutesAndConsentMetrics(t *testing.T) {
	srv := serveHTTP(t, reportWorld(t)) // 40 customers imported with email consent
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		code, b := bearerDo(t, method, srv.URL+path, token, body)
		return code, string(b)
	}
	const tok = "s3cret-admin"
	if code, _ := call("POST", "/v1/customers/c1/erase", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("erase without the token: %d, want 401", code)
	}
	if code, _ := call("GET", "/v1/customers/nobody/export", tok, ""); code != http.StatusNotFound {
		t.Fatalf("export of an unknown customer: %d, want 404", code)
	}
	if code, body := call("POST", "/v1/customers/c2/consent", tok, `{"channel": "email"}`); code != http.StatusBadRequest {
		t.Fatalf("consent without granted: %d %s, want 400", code, body)
	}
	if code, body := call("POST", "/v1/customers/c2/consent", tok, `{"channel": "email", "granted": false}`); code != http.StatusOK {
		t.Fatalf("consent: %d %s", code, body)
	}
	code, body := call("POST", "/v1/customers/c1/erase", tok, "")
	var er struct {
		CustomerID int64 `json:"customer_id"`
		Suppressed int   `json:"suppressed"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &er) != nil || er.Suppressed != 1 || strings.Contains(body, "@") {
		t.Fatalf("erase: %d %s", code, body)
	}
	code, body = call("GET", "/v1/customers/c2/export", tok, "")
	if code != http.StatusOK || !strings.Contains(body, `"email": "c2@example.com"`) || !strings.Contains(body, `"source": "admin"`) {
		t.Fatalf("export of c2: %d %s", code, body)
	}
	code, body = call("GET", "/v1/customers/"+jsonNumber(er.CustomerID)+"/export", tok, "")
	if code != http.StatusOK || strings.Contains(body, "c1@example.com") || !strings.Contains(body, `"erased_at"`) {
		t.Fatalf("export of the erased c1: %d %s", code, body)
	}
	_, metrics := call("GET", "/metrics", tok, "")
	for _, want := range []string{
		`tidings_consent_changes_total{channel="email",granted="true",source="import"} 40`,
		`tidings_consent_changes_total{channel="email",granted="false",source="admin"} 1`,
		`tidings_consent_changes_total{channel="email",granted="false",source="erasure"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }
