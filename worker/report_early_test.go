package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/web/admin"
)

// TestReportSaysTooEarlyBeforeAnyConversion runs a campaign with a holdout
// and no purchases yet: the report has nothing to judge, and says so instead
// of "no evidence of effect (95% CI 0.0 to 0.0)"; no lift is given, in the
// struct or the admin API's JSON, and the window reads "7d". A first
// treated purchase brings the lift back, flagged as rough while no held-out
// customer has converted.
func TestReportSaysTooEarlyBeforeAnyConversion(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	t0 := time.Now().UTC().Truncate(time.Second)
	b.clock = &fakeClock{t: t0}
	b.addCustomers(t, 40, nil)
	c := b.campaign(t, springYAML)
	e := b.engine(t, c)
	b.startWorker(t, e, 4)
	ctx := context.Background()
	if err := e.Enqueue(ctx, c.ID, "k1", t0); err != nil {
		t.Fatal(err)
	}
	b.waitRun(t, c.ID, "k1", 30*time.Second)

	rep, err := e.Report(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	holdout := rep.Arms[len(rep.Arms)-1]
	want := fmt.Sprintf("too early: no conversions yet in either arm (%d treated, %d held out)",
		rep.Treated.Audience, holdout.Audience)
	if holdout.Arm != "holdout" || holdout.Audience == 0 || rep.Treated.Audience == 0 ||
		!strings.HasPrefix(rep.Verdict, want) || rep.AttributionWindow != "7d" {
		t.Fatalf("verdict %q, window %q, holdout %+v; want %q..., 7d", rep.Verdict, rep.AttributionWindow, holdout, want)
	}
	if rep.Lift != nil || rep.Treated.Lift != nil {
		t.Errorf("lift = %+v: with no conversions there is nothing to compare", rep.Lift)
	}
	for _, a := range rep.Arms {
		if a.Lift != nil {
			t.Errorf("arm %s has a lift %+v before any conversion", a.Arm, a.Lift)
		}
	}
	srv := httptest.NewServer(admin.Handler(e, quietLogger()))
	defer srv.Close()
	var api map[string]any
	if code := getJSON(t, srv.URL+"/v1/campaigns/"+c.ID+"/report", &api); code != http.StatusOK {
		t.Fatalf("GET report = %d", code)
	}
	if _, has := api["lift"]; has || !strings.HasPrefix(fmt.Sprint(api["verdict"]), want) ||
		api["attribution_window"] != "7d" {
		t.Errorf("JSON report: lift %v, verdict %v, window %v", api["lift"], api["verdict"], api["attribution_window"])
	}

	// A treated customer buys: a lift again, rough while the holdout has none.
	rows := b.deliveries(t, c.ID)
	hook := evHook(t, b)
	for ext, d := range rows {
		if d.Status == store.StatusSent {
			evPost(t, b, hook, "e-"+ext, ext, "o-"+ext, "20.00", t0.Add(time.Hour))
			break
		}
	}
	rep, err = e.Report(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lift == nil || rep.Treated.Conversions != 1 || strings.HasPrefix(rep.Verdict, "too early") ||
		!strings.HasSuffix(rep.Verdict, "; rough: no held-out customer has converted yet") {
		t.Errorf("after one treated purchase: verdict %q, lift %+v", rep.Verdict, rep.Lift)
	}
}
