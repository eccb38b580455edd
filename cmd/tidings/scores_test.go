package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// customer00004 is a CDNOW sample customer worked out by hand: purchases on
// 1997-01-01 ($29.33), 1997-01-18 ($29.73), 1997-08-02 ($14.96) and
// 1997-12-12 ($26.48). As of 1997-09-30: 3 orders, $74.02, the last on
// 1997-08-02, 59 days before.
const whoYAML = `id: who
name: one customer
trigger: {schedule: {cron: "@daily"}}
audience: 'external_id == "00004" && orders_count == 3'
channels: [email]
messages: {email: {subject: hi, text: "{{ .days_since_last_purchase }} days"}}
`

// campaignsWith copies the example campaigns into a folder with extra
// files added.
func campaignsWith(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	src, err := filepath.Glob("../../examples/campaigns/*.yaml")
	if err != nil || len(src) == 0 {
		t.Fatalf("example campaigns: %v", err)
	}
	for _, p := range src {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		extra[filepath.Base(p)] = string(data)
	}
	for name, body := range extra {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openURL(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestBacktestAtLeavesLiveRowsUntouched imports the CDNOW sample (which
// stores live scores as of now), then runs every --at command (audience,
// preview, insights refresh): each computes purchase metrics and scores as
// of the time given (customer 00004 as worked out by hand, the published
// Pareto/NBD fit at the end of the calibration period, a win-back audience in
// 1998), and the live rows stay byte-identical.
func TestBacktestAtLeavesLiveRowsUntouched(t *testing.T) {
	t.Parallel()
	sample := storetest.CDNOWFile(t, "CDNOW_sample.txt")
	dir := campaignsWith(t, map[string]string{"who.yaml": whoYAML})
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			url := storetest.URL(t, d)
			base := []string{"--database-url", url, "--campaigns", dir}
			if code, out, errOut := cli(t, append(base, "import", "purchases", sample)...); code != 0 ||
				!strings.Contains(out, "customer scores refreshed") {
				t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
			}
			st := openURL(t, url)
			before := storetest.Dump(t, st, storetest.RefreshTables...)

			code, out, errOut := cli(t, append(base, "audience", "who", "--at", "1997-09-30", "--sample", "1")...)
			if code != 0 || !strings.Contains(out, "1 of 2357 customers match") ||
				!regexp.MustCompile(`\b00004\b.*\b3\s+74\.02\s+1997-08-02`).MatchString(out) ||
				!strings.Contains(errOut, "backtest as of 1997-09-30") {
				t.Errorf("audience who --at: exit %d, want customer 00004 with 3 orders, 74.02, 1997-08-02\n%s%s", code, out, errOut)
			}
			code, out, errOut = cli(t, append(base, "preview", "who", "--customer", "00004", "--at", "1997-09-30")...)
			if code != 0 || !strings.Contains(out, "is in the audience now") || !strings.Contains(out, "59 days") {
				t.Errorf("preview --at: exit %d, want 00004 in the audience, 59 days\n%s%s", code, out, errOut)
			}
			code, out, errOut = cli(t, append(base, "insights", "refresh", "--at", "1997-09-30")...)
			if code != 0 || !strings.Contains(out, "backtest (nothing stored") ||
				!strings.Contains(out, "Pareto/NBD   r=0.5533 alpha=10.5773 s=0.6063 beta=11.6706") {
				t.Errorf("insights refresh --at: exit %d, want a backtest with the published fit\n%s%s", code, out, errOut)
			}
			code, out, errOut = cli(t, append(base, "audience", "win-back-90d", "--at", "1998-07-01", "--sample", "0")...)
			m := matchRE.FindStringSubmatch(out)
			if code != 0 || m == nil || m[1] == "0" {
				t.Errorf("win-back-90d at 1998-07-01: exit %d, want a non-empty audience\n%s%s", code, out, errOut)
			}
			if after := storetest.Dump(t, st, storetest.RefreshTables...); after != before {
				t.Fatalf("a --at command changed the live rows")
			}
		})
	}
}

// TestImportPurchasesRefreshesScores: importing purchases stores scores for
// every customer it touched, or with --no-refresh says that it did not and
// what to run; audience and preview then warn about the missing scores with
// the command, and about stale ones once refreshed long ago.
func TestImportPurchasesRefreshesScores(t *testing.T) {
	t.Parallel()
	sample := storetest.CDNOWFile(t, "CDNOW_sample.txt")
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := storetest.URL(t, d)
			// BG/NBD: which model scores does not matter here, and its fit
			// costs a fraction of Pareto/NBD's under -race.
			base := []string{"--database-url", url, "--campaigns", "../../examples/campaigns", "--churn-model", "bg_nbd"}
			code, out, errOut := cli(t, append(base, "import", "purchases", "--no-refresh", sample)...)
			if code != 0 || !strings.Contains(out, `customer scores not refreshed (--no-refresh): run "tidings insights refresh"`) {
				t.Fatalf("import --no-refresh: exit %d\n%s%s", code, out, errOut)
			}
			st := openURL(t, url)
			if f, err := st.InsightsFreshness(ctx, time.Now().Add(-time.Hour), 0, 0); err != nil || f.Missing != 2357 {
				t.Fatalf("after import --no-refresh: %+v, %v; want 2357 without scores", f, err)
			}
			code, out, errOut = cli(t, append(base, "audience", "win-back-90d", "--sample", "0")...)
			if code != 0 || !strings.Contains(errOut, "2357 of 2357 customers have none") ||
				!strings.Contains(errOut, `run "tidings insights refresh"`) {
				t.Errorf("audience over missing scores: exit %d, want a warning with the fix\n%s%s", code, out, errOut)
			}
			code, out, errOut = cli(t, append(base, "preview", "win-back-90d", "--customer", "00004")...)
			if code != 0 || !strings.Contains(errOut, "customer 00004 has no scores yet") {
				t.Errorf("preview over missing scores: exit %d, want a warning\n%s%s", code, out, errOut)
			}

			// A purchase import that changes something refreshes.
			extra := filepath.Join(t.TempDir(), "more.csv")
			csv := "order_id,customer_id,amount,currency,quantity,occurred_at\nx1,00004,10.00,USD,1,1998-06-01\n"
			if err := os.WriteFile(extra, []byte(csv), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut = cli(t, append(base, "import", "purchases", extra)...)
			if code != 0 || !strings.Contains(out, "customer scores refreshed as of") {
				t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
			}
			if f, err := st.InsightsFreshness(ctx, time.Now().Add(-time.Hour), 0, 0); err != nil || !f.Fine() {
				t.Fatalf("after import: %+v, %v; want every customer scored", f, err)
			}
			code, out, errOut = cli(t, append(base, "audience", "win-back-90d", "--sample", "0")...)
			if code != 0 || strings.Contains(errOut, "warning") {
				t.Errorf("audience over fresh scores: exit %d, want no warning\n%s%s", code, out, errOut)
			}

			if _, err := st.DB.Exec(st.DB.Rebind(`UPDATE customers SET insights_at = ?`), time.Now().UTC().Add(-72*time.Hour)); err != nil {
				t.Fatal(err)
			}
			code, out, errOut = cli(t, append(base, "audience", "win-back-90d", "--sample", "0")...)
			if code != 0 || !strings.Contains(errOut, "2357 have scores older than 30h0m0s") {
				t.Errorf("audience over stale scores: exit %d, want a warning\n%s%s", code, out, errOut)
			}
		})
	}
}
