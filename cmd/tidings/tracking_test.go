package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/tracking"
	"github.com/tidings-crm/tidings/worker"
)

const trackedCampaignYAML = `id: spring
name: Spring sale
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: email_consent
channels: [email]
tracking: {opens: true, clicks: true}
messages: {email: {subject: Spring, html: "<a href='https://shop.example/spring?utm=1'>shop</a>"}}
`

// TestServeTracksClicks: "tidings serve" answers a tracked link with a
// redirect to its URL and a tampered one with 400, and the report (CLI and
// JSON) shows the click.
func TestServeTracksClicks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, flags := cliWorld(t, "spring.yaml", trackedCampaignYAML)
	email, yes := "ada@example.com", true
	if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "ada", Email: &email, EmailConsent: &yes}}); err != nil {
		t.Fatal(err)
	}
	c, err := st.CustomerByExternalID(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Now().Add(-time.Hour)
	in, err := st.InsertDeliveries(ctx, []store.NewDelivery{{CampaignID: "spring", CustomerID: c.ID, Occurrence: "k1",
		Channel: "email", Status: store.StatusPending}}, sent)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Claim(t, st, in[0].ID, "tok", email, sent)
	if ok, err := st.FinishDelivery(ctx, in[0].ID, "tok", store.StatusSent, "", "", sent); !ok || err != nil {
		t.Fatal(ok, err)
	}
	rt, srv := serveRuntime(t, flags)
	dest := "https://shop.example/spring?utm=1"
	link := tracking.Tokens{Signer: rt.signer}.URL(srv.URL, tracking.Link{Kind: tracking.KindClick, DeliveryID: in[0].ID,
		CustomerID: c.ID, Campaign: "spring", SentAt: sent, URL: dest})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		url      string
		code     int
		location string
	}{{link, http.StatusFound, dest}, {strings.Replace(link, "/c/", "/c/x", 1), http.StatusBadRequest, ""}} {
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.code || res.Header.Get("Location") != tc.location {
			t.Errorf("%s: %d %q, want %d %q", tc.url, res.StatusCode, res.Header.Get("Location"), tc.code, tc.location)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := rt.tracker.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, append(flags, "report", "spring", "--json")...)
	if code != 0 {
		t.Fatalf("report: %d %s", code, errOut)
	}
	var rep worker.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Tracking == nil || len(rep.Tracking.Arms) != 2 || rep.Tracking.Arms[0] != (worker.TrackedArm{Arm: "all", Sent: 1,
		Clicked: 1, ClickRate: 1, Clicks: 1}) {
		t.Fatalf("report tracking: %s", out)
	}
	_, table, _ := cli(t, append(flags, "report", "spring")...)
	if !strings.Contains(table, "opens and clicks") || !strings.Contains(table, "100.0%") {
		t.Errorf("the report table lacks the clicks:\n%s", table)
	}
}
