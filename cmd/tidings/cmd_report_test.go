package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/worker"
)

const reportCampaignYAML = `id: spring
name: Spring sale
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: email_consent
channels: [email]
holdout: 50%
messages: {email: {subject: Spring, text: hello}}
`

// reportWorld writes a SQLite database in which "spring" sent 20 customers
// (8 bought within the week) and held out 20 (2 bought), and a campaigns
// folder with it. It returns the flags that point the CLI at them.
func reportWorld(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	st, flags := cliWorld(t, "spring.yaml", reportCampaignYAML)
	t0 := time.Date(2026, 4, 6, 10, 0, 0, 0, time.UTC)
	yes := true // the audience is email_consent
	for i := 1; i <= 40; i++ {
		ext := fmt.Sprintf("c%d", i)
		email := ext + "@example.com"
		if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: ext, Email: &email, EmailConsent: &yes}}); err != nil {
			t.Fatal(err)
		}
		c, err := st.CustomerByExternalID(ctx, ext)
		if err != nil {
			t.Fatal(err)
		}
		status := store.StatusPending
		if i > 20 {
			status = store.StatusHoldout
		}
		in, err := st.InsertDeliveries(ctx, []store.NewDelivery{{CampaignID: "spring", CustomerID: c.ID, Occurrence: "k1",
			Channel: "email", Status: status}}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if status == store.StatusPending {
			storetest.Claim(t, st, in[0].ID, "tok", email, t0)
			if ok, err := st.FinishDelivery(ctx, in[0].ID, "tok", store.StatusSent, "", "", t0); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
		if (i <= 20 && i%5 < 2) || (i > 20 && i%10 == 0) { // 8 treated, 2 held out
			_, err := st.UpsertPurchases(ctx, []store.PurchaseInput{{OrderID: "o" + ext, CustomerExternalID: ext,
				AmountCents: 2500, OccurredAt: t0.Add(48 * time.Hour)}})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return flags
}

// TestReportCommand: --json prints the report's numbers; the table shows the
// arms and the verdict; an unknown campaign names the ones there are.
func TestReportCommand(t *testing.T) {
	t.Parallel()
	base := reportWorld(t)
	code, out, errOut := cli(t, append(base, "report", "spring", "--json")...)
	if code != 0 {
		t.Fatalf("report --json: exit %d\n%s%s", code, out, errOut)
	}
	var rep worker.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report --json is not a report: %v\n%s", err, out)
	}
	if len(rep.Arms) != 2 || rep.Arms[0].Arm != "all" || rep.Arms[0].Audience != 20 || rep.Arms[0].Sent != 20 ||
		rep.Arms[0].Conversions != 8 || rep.Arms[0].Revenue != 200 || rep.Arms[1].Conversions != 2 || rep.Lift == nil ||
		len(rep.Daily) != 3 || rep.Daily[0].Sent != 20 || rep.Daily[2].Conversions != 8 {
		t.Fatalf("report = %s", out)
	}

	code, table, errOut := cli(t, append(base, "report", "spring")...)
	if code != 0 {
		t.Fatalf("report: exit %d\n%s%s", code, table, errOut)
	}
	t.Logf("\n%s", table)
	for _, want := range []string{"verdict: " + rep.Verdict, "holdout", "40.0%", "10.0%", "+30.0 pts", "2026-04-08"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", want)
		}
	}

	code, _, errOut = cli(t, append(base, "report", "nope")...)
	if code == 0 || !strings.Contains(errOut, `no campaign "nope"`) || !strings.Contains(errOut, "spring") {
		t.Errorf("unknown campaign: exit %d, %q", code, errOut)
	}
}

// serveHTTP serves what "tidings serve" serves over HTTP, configured by
// flags plus an admin token, a webhook secret and an embedded Redis.
func serveHTTP(t *testing.T, flags []string) *httptest.Server {
	t.Helper()
	_, srv := serveRuntime(t, flags)
	return srv
}

// serveRuntime is serveHTTP that also returns the runtime behind it.
func serveRuntime(t *testing.T, flags []string) (*runtime, *httptest.Server) {
	t.Helper()
	a := testApp(t, flags)
	rt, err := a.openRuntime(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.close)
	hs, err := a.httpServer(rt)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hs.Handler)
	t.Cleanup(srv.Close)
	return rt, srv
}

// testApp is the app serve would be with flags, on embedded Redis with the
// tests' admin token, signing key and webhook secret.
func testApp(t *testing.T, flags []string) *app {
	t.Helper()
	a := &app{stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.DiscardHandler)}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	a.cfg.bindFlags(fs)
	args := append(flags, "--redis-url", "embedded", "--admin-token", "s3cret-admin", "--outbox", t.TempDir(),
		"--signing-key", strings.Repeat("k", 32), "--webhook-secret", testWebhookSecret)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := a.cfg.load(fs, ""); err != nil {
		t.Fatal(err)
	}
	return a
}

const testWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// postSigned posts body to the purchase webhook at base, signed with
// testWebhookSecret, and returns the status code.
func postSigned(t *testing.T, base, id string, body []byte) int {
	t.Helper()
	req, err := triggers.SignedRequest(context.Background(), testWebhookSecret, base+triggers.PathPurchase, id, time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestMetricsCountWebhookEvents: /metrics (admin token) exposes
// tidings_webhook_events_total and it moves when purchases are posted.
func TestMetricsCountWebhookEvents(t *testing.T) {
	t.Parallel()
	srv := serveHTTP(t, reportWorld(t))
	post := func(id string, body []byte) int { return postSigned(t, srv.URL, id, body) }
	ev := []byte(`{"event_id": "m1", "customer": {"external_id": "c1"}, "order_id": "m1", "amount": 12.5,
		"occurred_at": "2026-04-07T10:00:00Z"}`)
	if code := post("m1", ev); code != http.StatusAccepted {
		t.Fatalf("post: %d", code)
	}
	post("m1", ev)
	post("m2", []byte(`{"event_id": "m2"}`))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret-admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`tidings_webhook_events_total{result="accepted"} 1`,
		`tidings_webhook_events_total{result="duplicate"} 1`, `tidings_webhook_events_total{result="rejected"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestReportEndpointNeedsTheAdminToken: GET /v1/campaigns/{id}/report
// through the served mux answers 401 without the token, 200 with the same
// report as the CLI, and 404 for an unknown campaign.
func TestReportEndpointNeedsTheAdminToken(t *testing.T) {
	t.Parallel()
	base := reportWorld(t)
	srv := serveHTTP(t, base)
	get := func(path, token string) (int, []byte) { return bearerGet(t, srv.URL+path, token) }
	if code, _ := get("/v1/campaigns/spring/report", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := get("/v1/campaigns/spring/report", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	code, body := get("/v1/campaigns/spring/report", "s3cret-admin")
	if code != http.StatusOK {
		t.Fatalf("with token: %d %s", code, body)
	}
	_, cliOut, _ := cli(t, append(base, "report", "spring", "--json")...)
	var api, fromCLI worker.Report
	if err := json.Unmarshal(body, &api); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(cliOut), &fromCLI); err != nil {
		t.Fatal(err)
	}
	api.GeneratedAt, fromCLI.GeneratedAt = time.Time{}, time.Time{}
	a1, _ := json.Marshal(api)
	a2, _ := json.Marshal(fromCLI)
	if string(a1) != string(a2) {
		t.Errorf("API and CLI disagree:\n api %s\n cli %s", a1, a2)
	}
	if code, body := get("/v1/campaigns/nope/report", "s3cret-admin"); code != http.StatusNotFound {
		t.Errorf("unknown campaign: %d %s, want 404", code, body)
	}
}
