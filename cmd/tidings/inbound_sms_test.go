package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/triggers"
)

// TestInboundSMSNeedsItsProvidersCredential: whatever the provider, a
// server without the credential that authenticates inbound SMS does not
// serve /v1/sms/inbound, and its start message names the setting to set;
// with the credential, an unsigned request is refused and a signed one
// is carried out.
func TestInboundSMSNeedsItsProvidersCredential(t *testing.T) {
	t.Parallel()
	const secret = "whsec_c21zLWluYm91bmQtc2VjcmV0LWZvci1jbWQtdGVzdHM="
	sms := []string{"--sms-url", "https://sms.example", "--sms-from", "+15550001111"}
	for _, c := range []struct {
		args             []string
		missing, enabled string // the setting named, or the credential in force
	}{
		{nil, "TIDINGS_SMS_INBOUND_SECRET", ""},
		{append([]string{"--sms-provider", "http"}, sms...), "TIDINGS_SMS_INBOUND_SECRET", ""},
		{append([]string{"--sms-provider", "twilio"}, sms...), "TIDINGS_SMS_TOKEN", ""},
		{append([]string{"--sms-provider", "twilio", "--sms-token", "tok"}, sms...), "", "twilio"},
		{append([]string{"--sms-provider", "http", "--sms-inbound-secret", secret}, sms...), "", "secret"},
		{[]string{"--sms-inbound-secret", secret}, "", "secret"},
	} {
		cfg, err := loadConfig(t, c.args...)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		tw, sec, missing := cfg.inboundSMS()
		enabled := map[bool]string{true: "twilio"}[tw != ""] + map[bool]string{true: "secret"}[sec != ""]
		said := strings.Contains(missing, "/v1/sms/inbound") && strings.Contains(missing, c.missing)
		if enabled != c.enabled || (c.missing == "") != (missing == "") || (c.missing != "" && !said) {
			t.Errorf("%v: credential %q, message %q; want %q, a message naming %q", c.args, enabled, missing, c.enabled, c.missing)
		}
	}
	if _, err := loadConfig(t, "--sms-inbound-secret", "hunter2"); err == nil || !strings.Contains(err.Error(), "TIDINGS_SMS_INBOUND_SECRET") {
		t.Errorf("a secret that is not whsec_: %v", err)
	}

	post := func(srv string, headers map[string]string) int {
		t.Helper()
		body := url.Values{"From": {"+33700000020"}, "Body": {"STOP"}}.Encode()
		req, _ := http.NewRequest(http.MethodPost, srv+"/v1/sms/inbound", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	world := reportWorld(t)
	if code := post(serveHTTP(t, world).URL, nil); code != http.StatusNotFound {
		t.Errorf("inbound SMS without a credential: %d, want 404 (not served)", code)
	}
	srv := serveHTTP(t, append(world, "--sms-inbound-secret", secret)).URL
	if code := post(srv, nil); code != http.StatusUnauthorized {
		t.Errorf("unsigned inbound SMS: %d, want 401", code)
	}
	body := url.Values{"From": {"+33700000020"}, "Body": {"STOP"}}.Encode()
	h, err := triggers.SignHeaders(secret, "msg_1", time.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if code := post(srv, h); code != http.StatusOK {
		t.Errorf("signed inbound SMS: %d, want 200", code)
	}
}
