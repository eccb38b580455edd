package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/admin"
	"github.com/tidings-crm/tidings/worker"
)

// ledgerEngine is a read-only engine (no queue, no channels) with the
// newsletter loaded, on a clock at now, over a ledger of five customers:
// c1 (Europe/Paris) deferred by quiet hours to 08:00 UTC tomorrow, c2 (no
// zone, so the default America/New_York) pending, c3 (Asia/Kathmandu) sent,
// c4 in the holdout, c5 deferred to 10:30 UTC tomorrow.
func ledgerEngine(t *testing.T, d store.Dialect, now time.Time) (*worker.Engine, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, d)
	zones := map[string]string{"c1": "Europe/Paris", "c3": "Asia/Kathmandu", "c4": "UTC", "c5": "UTC"}
	yes := true
	var in []store.CustomerInput
	for _, id := range []string{"c1", "c2", "c3", "c4", "c5"} {
		email, zone := id+"@example.com", zones[id]
		in = append(in, store.CustomerInput{ExternalID: id, Email: &email, TimeZone: &zone, EmailConsent: &yes})
	}
	if _, err := st.UpsertCustomers(ctx, in); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, c := range in {
		cust, err := st.CustomerByExternalID(ctx, c.ExternalID)
		if err != nil {
			t.Fatal(err)
		}
		ids[c.ExternalID] = cust.ID
	}
	tomorrow8 := time.Date(now.Year(), now.Month(), now.Day()+1, 8, 0, 0, 0, time.UTC)
	row := func(id string, status store.Status, reason store.Reason, notBefore time.Time) store.NewDelivery {
		return store.NewDelivery{CampaignID: "news", CustomerID: ids[id], Occurrence: "2026-W49", Channel: "email",
			Status: status, Error: reason, NotBefore: notBefore}
	}
	rows := []store.NewDelivery{row("c1", store.StatusDeferred, "quiet hours", tomorrow8), row("c2", store.StatusPending, "", time.Time{}),
		row("c3", store.StatusPending, "", time.Time{}), row("c4", store.StatusHoldout, "", time.Time{}),
		row("c5", store.StatusDeferred, "local send time", tomorrow8.Add(150*time.Minute))}
	written, err := st.InsertDeliveries(ctx, rows, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range written {
		if w.CustomerID == ids["c3"] {
			storetest.Claim(t, st, w.ID, "tok", "c3@example.com", now)
			if ok, err := st.FinishDelivery(ctx, w.ID, "tok", store.StatusSent, "p1", "", now.Add(time.Second)); !ok || err != nil {
				t.Fatalf("finish: %v %v", ok, err)
			}
		}
	}
	return readEngine(t, st, now), st
}

// readEngine is an engine that only reads st (no queue, no channels), with
// the newsletter loaded, the default zone America/New_York and its clock at
// now.
func readEngine(t *testing.T, st *store.Store, now time.Time) *worker.Engine {
	t.Helper()
	c, problems := campaigns.Parse("news.yaml", []byte(newsletterYAML))
	if campaigns.HasErrors(problems) {
		t.Fatal(problems)
	}
	e := worker.NewEngine(st, &worker.Enqueuer{}, nil, worker.Options{DefaultLoc: mustZone(t, "America/New_York"),
		Logger: quietLogger(), Now: func() time.Time { return now }})
	e.SetCampaigns([]*campaigns.Campaign{c})
	return e
}

// getBody GETs path, wants the status want, decodes the body into into
// (unless nil) and returns it.
func getBody(t *testing.T, srv *httptest.Server, path string, want int, into any) string {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s = %d %s; want %d", path, resp.StatusCode, body, want)
	}
	if into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatal(err)
		}
	}
	return string(body)
}

func TestAdminDeliveriesListsPlannedSendsInLocalAndUTC(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 21, 15, 0, 0, time.UTC)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			e, _ := ledgerEngine(t, d, now)
			srv := httptest.NewServer(admin.Handler(e, quietLogger()))
			defer srv.Close()

			// Two pages by cursor hold the five rows once each, in customer order.
			var p1, p2 worker.DeliveryPage
			body := getBody(t, srv, "/v1/campaigns/news/deliveries?limit=3", http.StatusOK, &p1)
			getBody(t, srv, "/v1/campaigns/news/deliveries?limit=3&cursor="+p1.NextCursor, http.StatusOK, &p2)
			all := append(p1.Deliveries, p2.Deliveries...)
			var order []string
			for _, r := range all {
				order = append(order, r.ExternalID+":"+string(r.Status))
			}
			if p1.NextCursor == "" || p2.NextCursor != "" || strings.Join(order, " ") != "c1:deferred c2:pending c3:sent c4:holdout c5:deferred" {
				t.Fatalf("pages %v (cursors %q, %q)", order, p1.NextCursor, p2.NextCursor)
			}
			if strings.Contains(body, "@") {
				t.Fatalf("the listing shows an address: %s", body)
			}
			c1, c2, c3, c4 := all[0], all[1], all[2], all[3]
			if c1.Reason != store.ReasonQuietHours || c1.TimeZone != "Europe/Paris" || c1.ZoneDefault ||
				c1.PlannedAt.Format(time.RFC3339) != "2026-12-04T08:00:00Z" || c1.PlannedLocal != "2026-12-04T09:00:00+01:00" {
				t.Errorf("c1 = %+v", c1)
			}
			if c2.TimeZone != "America/New_York" || !c2.ZoneDefault || !c2.PlannedAt.Equal(now) ||
				c2.PlannedLocal != "2026-12-03T16:15:00-05:00" {
				t.Errorf("c2 (no zone: the default) = %+v", c2)
			}
			if c3.SentAt == nil || !c3.SentAt.Equal(now.Add(time.Second)) || c3.PlannedLocal != "2026-12-04T03:00:00+05:45" {
				t.Errorf("c3 = %+v", c3)
			}
			if c4.PlannedAt != nil || c4.PlannedLocal != "" {
				t.Errorf("c4, a holdout, has a planned send: %+v", c4)
			}

			var p worker.DeliveryPage
			getBody(t, srv, "/v1/campaigns/news/deliveries?status=deferred,sent", http.StatusOK, &p)
			if len(p.Deliveries) != 3 || p.Deliveries[0].ExternalID != "c1" || p.Deliveries[1].ExternalID != "c3" {
				t.Errorf("deferred and sent = %+v", p.Deliveries)
			}
			getBody(t, srv, "/v1/campaigns/news/deliveries?customer=c5", http.StatusOK, &p)
			if len(p.Deliveries) != 1 || p.Deliveries[0].Reason != "local send time" {
				t.Errorf("customer c5 = %+v", p.Deliveries)
			}

			for path, want := range map[string]string{
				"/v1/campaigns/news/deliveries?status=defered": `unknown status \"defered\"; statuses are sent, failed, pending, deferred`,
				"/v1/campaigns/news/deliveries?cursor=xyz":     "cursor is not one this API gave",
				"/v1/campaigns/news/deliveries?limit=0":        "limit \\\"0\\\": write a whole number from 1 to 1000",
			} {
				if got := getBody(t, srv, path, http.StatusBadRequest, nil); !strings.Contains(got, want) {
					t.Errorf("GET %s = %s; want it to say %s", path, got, want)
				}
			}
			getBody(t, srv, "/v1/campaigns/nope/deliveries", http.StatusNotFound, nil)
		})
	}
}

func TestDeferredSummaryGroupsByNextWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 21, 15, 0, 0, time.UTC)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			e, st := ledgerEngine(t, d, now)
			s, err := e.Deferred(context.Background(), "news")
			if err != nil {
				t.Fatal(err)
			}
			at := func(h int) time.Time { return time.Date(2026, 12, 4, h, 0, 0, 0, time.UTC) }
			if s.Total != 2 || s.Overdue != 0 || len(s.Windows) != 2 ||
				s.Windows[0] != (worker.DeferredWindow{Start: at(8), End: at(9), N: 1}) ||
				s.Windows[1] != (worker.DeferredWindow{Start: at(10), End: at(11), N: 1}) {
				t.Fatalf("summary = %+v", s)
			}
			// At 09:40 the first window has passed: overdue, waiting for a worker.
			later := readEngine(t, st, at(9).Add(40*time.Minute))
			if s, err := later.Deferred(context.Background(), "news"); err != nil || s.Overdue != 1 || s.Total != 2 ||
				len(s.Windows) != 1 || !s.Windows[0].Start.Equal(at(10)) {
				t.Fatalf("summary a day later = %+v, %v", s, err)
			}
		})
	}
}
