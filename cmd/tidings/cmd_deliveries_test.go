package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

const deliveriesCampaignYAML = `id: bday
name: Birthday
trigger: {birthday: {at: "09:00"}}
audience: sms_consent
channels: [sms]
messages: {sms: {text: "Happy birthday!"}}
`

// deliveriesWorld writes a SQLite database where "bday" holds c1..c6:
// c1 (Europe/Paris) and c4 (America/Los_Angeles) deferred to 09:00 their
// time tomorrow, c2 sent, c3 (no zone) suppressed, c5 and c6 pending; and a
// campaigns folder with it. It returns the flags that point the CLI at them.
func deliveriesWorld(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	st, flags := cliWorld(t, "bday.yaml", deliveriesCampaignYAML)
	zones := []string{"Europe/Paris", "Asia/Tokyo", "", "America/Los_Angeles", "UTC", "UTC"}
	now := time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC)
	var rows []store.NewDelivery
	for i, zone := range zones {
		ext, phone := fmt.Sprintf("c%d", i+1), fmt.Sprintf("+3361234567%d", i)
		consent := i == 1 // c2, the one sent
		in := store.CustomerInput{ExternalID: ext, Phone: &phone, TimeZone: &zone, SMSConsent: &consent}
		if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{in}); err != nil {
			t.Fatal(err)
		}
		c, err := st.CustomerByExternalID(ctx, ext)
		if err != nil {
			t.Fatal(err)
		}
		r := store.NewDelivery{CampaignID: "bday", CustomerID: c.ID, Occurrence: "2026", Channel: "sms", Status: store.StatusPending}
		switch i {
		case 0, 3:
			loc, _ := time.LoadLocation(zone)
			r.Status, r.Error, r.NotBefore = store.StatusDeferred, "local send time", time.Date(2026, 12, 4, 9, 0, 0, 0, loc)
		case 2:
			r.Status, r.Error = store.StatusSuppressed, "no sms consent"
		}
		rows = append(rows, r)
	}
	written, err := st.InsertDeliveries(ctx, rows, now)
	if err != nil {
		t.Fatal(err)
	}
	sent := written[1].ID // c2's
	storetest.Claim(t, st, sent, "t", "+33612345671", now)
	if ok, err := st.FinishDelivery(ctx, sent, "t", store.StatusSent, "p", "", now.Add(3*time.Second)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	return append(flags, "--time-zone", "America/New_York")
}

// cliWorld writes a campaign file (name, content yaml) in a new campaigns
// folder and opens a new, migrated SQLite database (closed when the test
// ends), for tests to seed; flags point the CLI at both.
func cliWorld(t *testing.T, name, yaml string) (st *store.Store, flags []string) {
	t.Helper()
	ctx := context.Background()
	url, dir := storetest.URL(t, store.SQLite), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st, []string{"--database-url", url, "--campaigns", dir}
}

func TestDeliveriesCommandShowsPlannedSendsLocalAndUTC(t *testing.T) {
	t.Parallel()
	base := deliveriesWorld(t)
	code, out, errOut := cli(t, append(base, "deliveries", "bday", "--limit", "4")...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	// c3 states no zone: its French number gives Europe/Paris.
	want := `CUSTOMER  STATUS      REASON           OCCURRENCE  CHANNEL  PLANNED (LOCAL)          ZONE                       PLANNED (UTC)     SENT (UTC)
c1        deferred    local send time  2026        sms      2026-12-04 09:00 +01:00  Europe/Paris               2026-12-04 08:00  -
c2        sent        -                2026        sms      2026-12-04 07:00 +09:00  Asia/Tokyo                 2026-12-03 22:00  2026-12-03 22:00:03
c3        suppressed  no sms consent   2026        sms      -                        Europe/Paris (from phone)  -                 -
c4        deferred    local send time  2026        sms      2026-12-04 09:00 -08:00  America/Los_Angeles        2026-12-04 17:00  -
... and 2 more rows (narrow with --status or --customer, or raise --limit)
`
	if out != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
	if strings.Contains(out, "+3361") {
		t.Fatal("the listing shows a phone number")
	}

	code, out, _ = cli(t, append(base, "deliveries", "bday", "--status", "deferred,pending", "--customer", "c4", "--json")...)
	var page worker.DeliveryPage
	if code != 0 || json.Unmarshal([]byte(out), &page) != nil || len(page.Deliveries) != 1 ||
		page.Deliveries[0].PlannedLocal != "2026-12-04T09:00:00-08:00" {
		t.Fatalf("exit %d, JSON:\n%s", code, out)
	}

	code, _, errOut = cli(t, append(base, "deliveries", "bday", "--status", "sent,defered")...)
	if code != 1 || !strings.Contains(errOut, `--status: unknown status "defered"; statuses are sent, failed, pending, deferred`) {
		t.Fatalf("misspelt status: exit %d, %s", code, errOut)
	}
}

func TestDeliveriesEndpointNeedsTheAdminTokenAndMatchesTheCLI(t *testing.T) {
	t.Parallel()
	base := deliveriesWorld(t)
	srv := serveHTTP(t, base)
	get := func(token string) (int, []byte) {
		return bearerGet(t, srv.URL+"/v1/campaigns/bday/deliveries?status=deferred", token)
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	code, body := get("s3cret-admin")
	if code != http.StatusOK {
		t.Fatalf("with token: %d %s", code, body)
	}
	_, cliOut, _ := cli(t, append(base, "deliveries", "bday", "--status", "deferred", "--json")...)
	var api, fromCLI worker.DeliveryPage
	if err := json.Unmarshal(body, &api); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(cliOut), &fromCLI); err != nil {
		t.Fatal(err)
	}
	a1, _ := json.Marshal(api)
	a2, _ := json.Marshal(fromCLI)
	if len(api.Deliveries) != 2 || string(a1) != string(a2) {
		t.Errorf("API and CLI disagree:\n api %s\n cli %s", a1, a2)
	}
}

// bearerGet GETs url with the admin token (none when token is "") and
// returns the status and body.
func bearerGet(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	return bearerDo(t, http.MethodGet, url, token, "")
}

// bearerDo sends a request with body and, when token is set, the bearer
// token; it returns the status and the body of the answer.
func bearerDo(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, answer
}
