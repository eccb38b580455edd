package main

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// insightsCLI runs the CLI with the insights command available, whether or
// not main.go registers it yet.
func insightsCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{stdout: &out, stderr: &errOut}
	a.log = slog.New(slog.DiscardHandler)
	root := a.rootCommand()
	if c, _, err := root.Find([]string{"insights"}); err != nil || c == root {
		root.AddCommand(a.insightsCommand())
	}
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.ExecuteContext(context.Background()); err != nil {
		errOut.WriteString(err.Error())
		return 1, out.String(), errOut.String()
	}
	return 0, out.String(), errOut.String()
}

// TestInsightsRefreshAndReport imports the CDNOW sample without scores,
// backtests as of the end of the published calibration period (the
// published Pareto/NBD and Gamma-Gamma parameters, nothing stored: the report
// still finds no insights), then refreshes as of now and checks that refresh
// and report print the same model, segment sizes and a P(alive)
// distribution over all 2,357 buyers.
func TestInsightsRefreshAndReport(t *testing.T) {
	t.Parallel()
	sample := storetest.CDNOWFile(t, "CDNOW_sample.txt")
	url := storetest.URL(t, "sqlite")
	base := []string{"--database-url", url}
	if code, out, errOut := cli(t, append(base, "import", "purchases", "--no-refresh", sample)...); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := insightsCLI(t, append(base, "insights", "report")...)
	if code != 0 || !strings.Contains(out, "no insights yet for the 2357 customers") {
		t.Fatalf("report before refresh: exit %d\n%s%s", code, out, errOut)
	}
	code, backtest, errOut := insightsCLI(t, append(base, "insights", "refresh", "--at", "1997-09-30")...)
	if code != 0 {
		t.Fatalf("refresh --at: exit %d\n%s%s", code, backtest, errOut)
	}
	for _, want := range []string{
		"backtest (nothing stored; the live scores are unchanged) as of 1997-09-30T00:00:00Z: 2357 customers (2357 buyers, 946 repeat buyers)",
		"Pareto/NBD   r=0.5533 alpha=10.5773 s=0.6063 beta=11.6706 (log-likelihood -9594.98)",
		"Gamma-Gamma  p=6.2493 q=3.7443 v=15.4444",
		"model (not stored) as of 1997-09-30, time unit weeks",
	} {
		if !strings.Contains(backtest, want) {
			t.Errorf("refresh --at should print %q:\n%s", want, backtest)
		}
	}
	code, out, errOut = insightsCLI(t, append(base, "insights", "report")...)
	if code != 0 || !strings.Contains(out, "no insights yet for the 2357 customers") {
		t.Fatalf("report after a backtest: exit %d, want still no insights\n%s%s", code, out, errOut)
	}
	code, refresh, errOut := insightsCLI(t, append(base, "insights", "refresh")...)
	if code != 0 {
		t.Fatalf("refresh: exit %d\n%s%s", code, refresh, errOut)
	}
	code, report, errOut := insightsCLI(t, append(base, "insights", "report")...)
	if code != 0 {
		t.Fatalf("report: exit %d\n%s%s", code, report, errOut)
	}
	t.Logf("refresh:\n%s\nreport:\n%s", refresh, report)
	model := regexp.MustCompile(`(?m)^model #1 as of .*\n  Pareto/NBD .*\n  Gamma-Gamma .*$`)
	if m := model.FindString(refresh); m == "" || !strings.Contains(report, m) {
		t.Errorf("refresh and report should both print model #1 with the same parameters")
	}
	if !strings.Contains(refresh, "2357 customers (2357 buyers, ") || !strings.Contains(report, "insights of 2357 of 2357 customers") {
		t.Errorf("counts missing")
	}
	// The distribution part is identical whether computed while scoring or
	// read back from the database.
	dist := func(s string) string { return s[strings.Index(s, "\nRFM segments"):] }
	if dist(refresh) != dist(report) {
		t.Errorf("refresh and report disagree on the distribution:\n%s\n---\n%s", dist(refresh), dist(report))
	}
	total := 0
	for _, m := range regexp.MustCompile(`(?m)^  \[\d\.\d, \d\.\d[)\]]\s+(\d+)`).FindAllStringSubmatch(report, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != 2357 {
		t.Errorf("P(alive) deciles hold %d buyers, want 2357", total)
	}
}

// TestChurnModelAndCLVSettings: TIDINGS_CHURN_MODEL picks the model the
// refresh fits (BG/NBD stays selectable), TIDINGS_CLV_MARGIN scales every
// stored CLV, and a bad value of any of the settings is refused with what
// to write instead.
func TestChurnModelAndCLVSettings(t *testing.T) {
	t.Parallel()
	sample := storetest.CDNOWFile(t, "CDNOW_sample.txt")
	url := storetest.URL(t, "sqlite")
	base := []string{"--database-url", url}
	if code, out, errOut := cli(t, append(base, "import", "purchases", "--no-refresh", sample)...); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := insightsCLI(t, append(base, "insights", "refresh", "--at", "1997-09-30", "--churn-model", "bg_nbd")...)
	if code != 0 || !strings.Contains(out, "BG/NBD       r=0.2426 alpha=4.4135 a=0.7930 b=2.4259") {
		t.Errorf("--churn-model bg_nbd: exit %d, want the published BG/NBD fit\n%s%s", code, out, errOut)
	}
	clvs := func(args ...string) map[int64]float64 {
		t.Helper()
		if code, out, errOut := insightsCLI(t, append(append(base, "insights", "refresh"), args...)...); code != 0 {
			t.Fatalf("refresh %v: exit %d\n%s%s", args, code, out, errOut)
		}
		out := map[int64]float64{}
		st := openURL(t, url)
		if err := st.StreamCustomers(context.Background(), func(c *store.Customer) error {
			out[c.ID] = c.CLV
			return nil
		}, store.StreamOptions{}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// BG/NBD: the margin scales whatever the model, and its fit costs a
	// fraction of Pareto/NBD's under -race.
	revenue, margin := clvs("--churn-model", "bg_nbd"), clvs("--churn-model", "bg_nbd", "--clv-margin", "0.3")
	positive := 0
	for id, v := range revenue {
		if v > 0 {
			positive++
		}
		if math.Abs(margin[id]-0.3*v) > 1e-6*v+1e-9 {
			t.Fatalf("customer %d: CLV %.6f with margin 0.3, %.6f without", id, margin[id], v)
		}
	}
	if positive < 2000 {
		t.Errorf("only %d of %d customers have a CLV above 0", positive, len(revenue))
	}
	for _, bad := range []struct{ flag, value, want string }{
		{"--churn-model", "pareto", "use one of pareto_nbd, bg_nbd, mbg_nbd"},
		{"--clv-margin", "30%", "TIDINGS_CLV_MARGIN must be a number above 0"},
		{"--clv-margin", "1.3", "TIDINGS_CLV_MARGIN must be at most 1"},
		{"--clv-discount", "-0.01", "TIDINGS_CLV_DISCOUNT must be a monthly rate of 0 or more"},
		{"--clv-horizon-months", "0", "TIDINGS_CLV_HORIZON_MONTHS"},
	} {
		code, out, errOut := insightsCLI(t, append(base, "insights", "refresh", bad.flag, bad.value)...)
		if code == 0 || !strings.Contains(errOut, bad.want) {
			t.Errorf("%s %s: exit %d, want an error saying %q\n%s%s", bad.flag, bad.value, code, bad.want, out, errOut)
		}
	}
}
