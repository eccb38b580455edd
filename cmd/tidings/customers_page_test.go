package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/internal/wait"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/dashboard"
	"github.com/tidings-crm/tidings/worker"
	"github.com/tidings-crm/tidings/worker/redistest"
)

// TestCustomersPageInChromium refreshes a generated base 80 and 40 days ago
// (with examples/tiers.yaml), serves it (serve refreshes it again, now, with
// a 13-week forecast check), and reads the Customers page
// in headless Chromium: the customers per stage, the moves of the second
// refresh, the RFM grid's counts and revenue, the P(alive) and CLV bands,
// the tiers and the forecast check's bars are the store's own figures,
// drawn as SVG, and the check's actual purchase days are those of the
// generated purchases; without the session the page shows only the login
// form. BG/NBD throughout: the churn model does not matter here, and its
// fits are the cheaper ones under -race.
func TestCustomersPageInChromium(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	ctx := context.Background()
	dbURL := storetest.URL(t, store.Postgres)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Hour)
	var buys []store.PurchaseInput
	for i := range 300 {
		for k := range 1 + i%6 {
			buys = append(buys, store.PurchaseInput{OrderID: fmt.Sprintf("o%d-%d", i, k), CustomerExternalID: fmt.Sprintf("c%03d", i),
				AmountCents: int64(1500 + 700*(i%9) + 900*k), OccurredAt: now.AddDate(0, 0, -(i%200)-25*k-40)})
		}
	}
	if _, err := st.UpsertPurchases(ctx, buys); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../examples/tiers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tiers, err := insights.ParseTiers(src)
	if err != nil {
		t.Fatal(err)
	}
	quiet := worker.InsightsOptions{Tiers: tiers, Model: insights.ModelBGNBD, Log: slog.New(slog.DiscardHandler)}
	for _, at := range []time.Time{now.AddDate(0, 0, -80), now.AddDate(0, 0, -40)} {
		if _, err := worker.RefreshInsights(ctx, st, at, quiet); err != nil {
			t.Fatal(err)
		}
	}
	// serve refreshes at start (its daily refresh is due): the page shows
	// that refresh, the moves since the one 40 days before.
	_, ropt := redistest.Client(t)
	base := serveForTest(t, ctx, "--database-url", dbURL, "--redis-url", fmt.Sprintf("redis://%s/%d", ropt.Addr, ropt.DB),
		"--campaigns", t.TempDir(), "--outbox", t.TempDir(), "--admin-token", dashToken, "--tiers", "../../examples/tiers.yaml",
		"--churn-model", "bg_nbd", "--calibration-holdout-weeks", "13")
	var ov store.CustomersOverview
	// The overview is a heavy read: polled every 5 ms it took a core from
	// the refresh it waits for. Under -race the refresh (two fits and the
	// scores of this base, whose BG/NBD fit ends at the edge of its box and
	// makes the hypergeometric series slow) takes about 40 s.
	if !wait.UntilEvery(2*time.Minute, 500*time.Millisecond, func() bool {
		ov, err = st.CustomersOverview(ctx)
		return err == nil && ov.At.After(now)
	}) {
		t.Fatalf("serve's insights refresh not stored after 2 minutes (last read: %v)", err)
	}
	if len(ov.Flows) == 0 || len(ov.Tiers) < 2 || ov.Grid[4][0].Customers+ov.Grid[0][0].Customers == 0 {
		t.Fatalf("the generated base should move customers and fill tiers and the grid: %+v", ov)
	}
	cal := ov.Calibration.Calibration
	if cal == nil {
		t.Fatalf("serve's refresh stored no forecast check: %q", ov.Calibration.Note)
	}
	if want := holdoutDays(buys, cal.Cut, cal.End); cal.Actual != want || cal.HoldoutWeeks != 13 {
		t.Errorf("forecast check over %g weeks: %g actual purchase days, the generated purchases have %g", cal.HoldoutWeeks, cal.Actual, want)
	}
	cookie := dashboardLogin(t, base)
	target, _ := url.Parse(base)
	viaLogin := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = target.Host
		r.Out.AddCookie(cookie)
	}})
	defer viaLogin.Close()
	runs := runChromiums(t, chromium, []string{"--dump-dom", viaLogin.URL + "/dashboard/customers"},
		[]string{"--dump-dom", base + "/dashboard/customers"})
	dom := runs[0]
	has := func(what, re string) {
		t.Helper()
		if !regexp.MustCompile(re).MatchString(dom) {
			t.Errorf("the Customers page lacks %s (%s)", what, re)
		}
	}
	for _, s := range ov.Stages {
		has("stage "+s.Name, `id="stages-`+s.Name+`"[^>]*>\s*<title>`+s.Name+`: `+regexp.QuoteMeta(dashboard.Count(int64(s.Count)))+`</title>`)
	}
	for _, f := range ov.Flows {
		has("the move "+f.From+" -> "+f.To, `id="flow-`+f.From+`-`+f.To+`"><td>`+f.From+`</td><td>`+f.To+`</td><td class="num">`+
			regexp.QuoteMeta(dashboard.Count(int64(f.Count)))+`</td>`)
	}
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			c := ov.Grid[r-1][f-1]
			has(fmt.Sprintf("RFM cell %d%d", r, f), fmt.Sprintf(`id="rfm-%d%d"[^>]*>\s*<title>R %d, F %d: %s customers, %s revenue`,
				r, f, r, f, regexp.QuoteMeta(dashboard.Count(int64(c.Customers))), regexp.QuoteMeta(dashboard.Money(float64(c.RevenueCents)/100))))
		}
	}
	for k, n := range ov.PAliveDeciles {
		has(fmt.Sprintf("P(alive) band %d", k), fmt.Sprintf(`id="p-alive-%.1f-%.1f"[^>]*>\s*<title>[^<]*: %s</title>`,
			float64(k)/10, float64(k+1)/10, regexp.QuoteMeta(dashboard.Count(int64(n)))))
	}
	for _, b := range append(append(ov.CLV, ov.Tiers...), ov.ABC...) {
		has("band "+b.Name, `<title>`+regexp.QuoteMeta(b.Name)+`: `+regexp.QuoteMeta(dashboard.Count(int64(b.Count)))+`</title>`)
	}
	for i, b := range cal.Buckets {
		if b.Customers == 0 {
			continue
		}
		last := i == len(cal.Buckets)-1
		for what, v := range map[string]float64{"actual": b.Actual, "predicted": b.Predicted} {
			has(fmt.Sprintf("the forecast check's %s bar of x=%d", what, b.X), fmt.Sprintf(`id="calibration-%d-%s"[^>]*>\s*<title>%s</title>`,
				b.X, what, regexp.QuoteMeta(dashboard.CalibrationTitle(b, last, what, v/float64(b.Customers)))))
		}
	}
	for _, id := range []string{`id="calibration-chart"`, `id="rfm-grid"`, `id="stages-chart"`, `id="p-alive-chart"`, `id="clv-chart"`, `id="tiers-chart"`,
		`href="/dashboard/customers"`} {
		if !strings.Contains(dom, id) {
			t.Errorf("the Customers page lacks %s", id)
		}
	}
	if denied := runs[1]; !strings.Contains(denied, "Admin token required") || strings.Contains(denied, "rfm-grid") {
		t.Errorf("Chromium without the cookie saw more than the login form")
	}
	if status, _ := httpGet(t, base+"/dashboard/customers", ""); status != http.StatusUnauthorized {
		t.Errorf("GET /dashboard/customers without the token: %d", status)
	}
}

// holdoutDays counts, among the customers who bought on or before cut's
// date, their purchase days after it up to end's date.
func holdoutDays(buys []store.PurchaseInput, cut, end time.Time) float64 {
	day := func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
	before, days := map[string]bool{}, map[string]bool{}
	for _, b := range buys {
		if d := day(b.OccurredAt); d <= day(cut) {
			before[b.CustomerExternalID] = true
		}
	}
	for _, b := range buys {
		if d := day(b.OccurredAt); before[b.CustomerExternalID] && d > day(cut) && d <= day(end) {
			days[b.CustomerExternalID+" "+d] = true
		}
	}
	return float64(len(days))
}
