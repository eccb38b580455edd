package dashboard

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// deferredRows finds the rows of the page's deferred table as "window: n".
func deferredRows(body string) []string {
	var out []string
	re := regexp.MustCompile(`<tr><td>([^<]+)</td><td class="num">([^<]+)</td></tr>`)
	table := body[strings.Index(body, `id="deferred"`)+1:]
	table = table[:strings.Index(table, "</table>")]
	for _, m := range re.FindAllStringSubmatch(table, -1) {
		out = append(out, m[1]+": "+m[2])
	}
	return out
}

func TestCampaignPageShowsDeferredByNextWindow(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 12, 4, h, 0, 0, 0, time.UTC) }
	srv, _ := newServer(t, fixedSource{report: worker.Report{CampaignID: "spring", Name: "Spring sale"},
		deferred: worker.DeferredSummary{Total: 1058, Overdue: 1000, Windows: []worker.DeferredWindow{
			{Start: at(8), End: at(9), N: 40}, {Start: at(9), End: at(10), N: 18}}}})
	r := get(t, srv, "/dashboard/campaigns/spring", bearer(token))
	if r.status != 200 || !strings.Contains(r.body, "Deferred: <strong>1,058</strong> messages") ||
		!strings.Contains(r.body, "1,000 of them are due already") ||
		!strings.Contains(r.body, "tidings deliveries spring --status deferred") {
		t.Fatalf("campaign page: %d\n%s", r.status, r.body)
	}
	if got := deferredRows(r.body); fmt.Sprint(got) != "[Dec 4, 08:00–09:00 UTC: 40 Dec 4, 09:00–10:00 UTC: 18]" {
		t.Fatalf("deferred windows %v", got)
	}

	srv, _ = newServer(t, fixedSource{report: worker.Report{CampaignID: "spring", Name: "Spring sale"}})
	if r := get(t, srv, "/dashboard/campaigns/spring", bearer(token)); !strings.Contains(r.body, "No deferred messages") ||
		strings.Contains(r.body, `id="deferred"`) {
		t.Fatalf("campaign page without deferred messages:\n%s", r.body)
	}
}

const deferredYAML = `id: spring
name: Spring sale
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: sms_consent
channels: [sms]
messages: {sms: {text: "Spring!"}}
`

// The page over a real engine and ledger: SMS held by quiet hours until
// 08:00 local in three zones become windows at their UTC hours.
func TestCampaignPageShowsDeferredFromTheLedger(t *testing.T) {
	now := time.Date(2026, 12, 3, 22, 30, 0, 0, time.UTC)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			zones := map[string]int{"Europe/Paris": 3, "Europe/London": 2, "America/New_York": 1}
			var rows []store.NewDelivery
			i := 0
			for zone, n := range zones {
				loc, _ := time.LoadLocation(zone)
				for range n {
					i++
					ext := fmt.Sprintf("c%d", i)
					if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: ext, TimeZone: &zone}}); err != nil {
						t.Fatal(err)
					}
					c, err := st.CustomerByExternalID(ctx, ext)
					if err != nil {
						t.Fatal(err)
					}
					rows = append(rows, store.NewDelivery{CampaignID: "spring", CustomerID: c.ID, Occurrence: "w49", Channel: "sms",
						Status: store.StatusDeferred, Error: "quiet hours", NotBefore: time.Date(2026, 12, 4, 8, 0, 0, 0, loc)})
				}
			}
			if _, err := st.InsertDeliveries(ctx, rows, now); err != nil {
				t.Fatal(err)
			}
			c, problems := campaigns.Parse("spring.yaml", []byte(deferredYAML))
			if campaigns.HasErrors(problems) {
				t.Fatal(problems)
			}
			e := worker.NewEngine(st, &worker.Enqueuer{}, nil, worker.Options{Now: func() time.Time { return now }})
			e.SetCampaigns([]*campaigns.Campaign{c})
			srv, _ := newServer(t, e)
			r := get(t, srv, "/dashboard/campaigns/spring", bearer(token))
			if r.status != 200 || !strings.Contains(r.body, "Deferred: <strong>6</strong> messages") {
				t.Fatalf("campaign page: %d\n%s", r.status, r.body)
			}
			want := "[Dec 4, 07:00–08:00 UTC: 3 Dec 4, 08:00–09:00 UTC: 2 Dec 4, 13:00–14:00 UTC: 1]"
			if got := deferredRows(r.body); fmt.Sprint(got) != want {
				t.Fatalf("deferred windows %v; want %s", got, want)
			}
		})
	}
}
