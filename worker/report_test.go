package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/web/admin"
	"github.com/tidings-crm/tidings/worker"
)

const springYAML = `id: promo
name: Spring promo
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
holdout: 30%
attribution_window: 7d
variants:
  - id: plain
    weight: 1
  - id: spring
    weight: 1
    messages:
      email:
        subject: "Spring is here"
messages:
  email:
    subject: "Spring promo"
    text: "Hello {{ .external_id }}"
`

// TestReportAfterARealRun runs a campaign with a holdout and two variants
// through the worker and the SMTP server, posts purchases through the signed
// webhook (inside and outside the window), records a bounce, and checks the
// report against counts worked out from the ledger.
func TestReportAfterARealRun(t *testing.T) {
	t.Parallel()
	b := setup(t, store.Postgres)
	t0 := time.Now().UTC().Truncate(time.Second)
	b.clock = &fakeClock{t: t0}
	const n = 160
	b.addCustomers(t, n, nil)
	c := b.campaign(t, springYAML)
	e := b.engine(t, c)
	b.startWorker(t, e, 4)
	ctx := context.Background()
	if err := e.Enqueue(ctx, "promo", "k1", t0); err != nil {
		t.Fatal(err)
	}
	b.waitRun(t, "promo", "k1", 30*time.Second)
	rows := b.deliveries(t, "promo")
	if len(rows) != n {
		t.Fatalf("ledger has %d rows, want %d", len(rows), n)
	}

	// Purchases: treated customers with an even number buy 20.00 a day after
	// the send, held-out ones with a number divisible by 4 buy 10.00; every
	// customer ending in 1 buys 5.00 eight days later (outside the window).
	type arm struct{ audience, sent, conversions, revenueCents int64 }
	want := map[string]*arm{"plain": {}, "spring": {}, "holdout": {}}
	hook := evHook(t, b)
	for i := 1; i <= n; i++ {
		ext := fmt.Sprintf("c%d", i)
		d := rows[ext]
		name := d.Variant
		if d.Status == store.StatusHoldout {
			name = "holdout"
		} else if d.Status != store.StatusSent {
			t.Fatalf("customer %s: status %s, want sent or holdout", ext, d.Status)
		}
		if (name == "holdout") != worker.InHoldout(c, d.CustomerID) ||
			(name != "holdout" && name != worker.AssignVariant(c, d.CustomerID)) {
			t.Fatalf("customer %s is in arm %q, not where InHoldout/AssignVariant put them", ext, name)
		}
		a := want[name]
		a.audience++
		if d.Status == store.StatusSent {
			a.sent++
		}
		buys := (name == "holdout" && i%4 == 0) || (name != "holdout" && i%2 == 0)
		if buys {
			cents := int64(2000)
			if name == "holdout" {
				cents = 1000
			}
			evPost(t, b, hook, "e"+ext, ext, "o"+ext, strconv.FormatFloat(float64(cents)/100, 'f', 2, 64), t0.Add(24*time.Hour))
			a.conversions++
			a.revenueCents += cents
		}
		if i%10 == 1 {
			evPost(t, b, hook, "late"+ext, ext, "late"+ext, "5.00", t0.Add(8*24*time.Hour))
		}
	}
	// One treated customer's address bounces after the send.
	bounced := ""
	for i := 1; bounced == ""; i++ {
		if d := rows[fmt.Sprintf("c%d", i)]; d.Status == store.StatusSent {
			bounced = d.Variant
			if err := b.st.Suppress(ctx, "email", fmt.Sprintf("customer%d@example.com", i), store.SuppressHardBounce, d.CustomerID); err != nil {
				t.Fatal(err)
			}
		}
	}

	rep, err := e.Report(ctx, "promo")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Arms) != 3 || rep.Arms[0].Arm != "plain" || rep.Arms[1].Arm != "spring" || rep.Arms[2].Arm != "holdout" {
		t.Fatalf("arms = %+v", rep.Arms)
	}
	var treated arm
	for _, got := range rep.Arms {
		w := want[got.Arm]
		delivered := w.sent
		if got.Arm == bounced {
			delivered--
		}
		if got.Audience != w.audience || got.Sent != w.sent || got.Delivered != delivered || got.Failed != 0 ||
			got.Conversions != w.conversions || math.Abs(got.Revenue-float64(w.revenueCents)/100) > 1e-9 {
			t.Errorf("arm %s = %+v, want %+v (delivered %d)", got.Arm, got, *w, delivered)
		}
		if rate := float64(w.conversions) / float64(w.audience); math.Abs(got.ConversionRate-rate) > 1e-12 {
			t.Errorf("arm %s conversion rate = %v, want %v", got.Arm, got.ConversionRate, rate)
		}
		if got.Arm != "holdout" {
			treated.audience += w.audience
			treated.conversions += w.conversions
			treated.revenueCents += w.revenueCents
			if got.Lift == nil {
				t.Errorf("arm %s has no lift over the holdout", got.Arm)
			}
		}
	}
	h := want["holdout"]
	if rep.Treated.Audience != treated.audience || rep.Treated.Conversions != treated.conversions ||
		rep.Treated.Arm != "treated" || rep.Treated.Sent != want["plain"].sent+want["spring"].sent {
		t.Errorf("treated = %+v, want audience %d conversions %d", rep.Treated, treated.audience, treated.conversions)
	}
	lift, _ := insights.CompareProportions(treated.conversions, treated.audience, h.conversions, h.audience)
	if rep.Lift == nil || *rep.Lift != lift {
		t.Errorf("lift = %+v, want %+v", rep.Lift, lift)
	}
	if rep.Verdict != insights.Verdict(&lift) || rep.Attribution != "last-touch" || rep.AttributionWindow != "7d" {
		t.Errorf("verdict %q, attribution %q, window %q", rep.Verdict, rep.Attribution, rep.AttributionWindow)
	}
	t.Logf("verdict: %s", rep.Verdict)
	day0, day1 := t0.Format(time.DateOnly), t0.Add(24*time.Hour).Format(time.DateOnly)
	wantDaily := []worker.DayPoint{{Day: day0, Sent: rep.Treated.Sent}, {Day: day1, Conversions: treated.conversions}}
	if !reflect.DeepEqual(rep.Daily, wantDaily) {
		t.Errorf("daily = %+v, want %+v", rep.Daily, wantDaily)
	}

	if _, err := e.Report(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("report of an unknown campaign: %v, want ErrNotFound", err)
	}

	// The admin API serves the same report; an unknown campaign is a 404.
	srv := httptest.NewServer(admin.Handler(e, quietLogger()))
	defer srv.Close()
	var api worker.Report
	if code := getJSON(t, srv.URL+"/v1/campaigns/promo/report", &api); code != http.StatusOK {
		t.Fatalf("GET report = %d", code)
	}
	if !reflect.DeepEqual(api, rep) {
		t.Errorf("API report differs:\n api %+v\nwant %+v", api, rep)
	}
	var problem map[string]string
	if code := getJSON(t, srv.URL+"/v1/campaigns/nope/report", &problem); code != http.StatusNotFound ||
		!strings.Contains(problem["error"], "nope") {
		t.Errorf("GET unknown report = %d %v, want 404 naming the campaign", code, problem)
	}
}

// TestReportWithoutHoldoutOrRun: a campaign without a holdout says the lift
// cannot be measured; one with a holdout that has not run yet shows its
// configured arms empty and says why there is no lift.
func TestReportWithoutHoldoutOrRun(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	news := b.campaign(t, newsletterYAML)
	promo := b.campaign(t, springYAML)
	e := b.engine(t, news, promo)
	rep, err := e.Report(context.Background(), "news")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Arms) != 1 || rep.Arms[0].Arm != "all" || rep.Lift != nil ||
		rep.Verdict != "no holdout: lift cannot be measured" || rep.Daily == nil {
		t.Errorf("report without holdout = %+v", rep)
	}
	rep, err = e.Report(context.Background(), "promo")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Arms) != 3 || rep.Arms[2].Arm != "holdout" || rep.Lift != nil ||
		!strings.HasPrefix(rep.Verdict, "no holdout members yet") {
		t.Errorf("report before any run = %+v", rep)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", url, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}
