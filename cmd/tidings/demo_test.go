package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/channels/smtptest"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker/redistest"
)

// demoColumns are the demo table's count columns, in order, and the ledger
// statuses each one sums ("" for AUDIENCE: every row).
var demoColumns = []struct {
	name     string
	statuses []store.Status
}{
	{"AUDIENCE", nil}, {"SENT", []store.Status{store.StatusSent}}, {"SUPPRESSED", []store.Status{store.StatusSuppressed}},
	{"CAPPED", []store.Status{store.StatusCapped}}, {"DEFERRED", []store.Status{store.StatusDeferred}},
	{"HOLDOUT", []store.Status{store.StatusHoldout}}, {"FAILED", []store.Status{store.StatusFailed, store.StatusUnknown}},
	{"EXPIRED", []store.Status{store.StatusExpired}},
}

// demoRow is one campaign's row of the demo table.
type demoRow struct {
	occurrence string
	before     bool  // "already sent": the occurrence had run, nothing was resent
	counts     []int // demoColumns, when it ran now
}

// demoRowRE reads a row: campaign, trigger, occurrence (a schedule's has a
// space: "2026-11-30T10:00 Europe/Paris") and eight counts or dashes.
var demoRowRE = regexp.MustCompile(`^\s*(\S+)\s+(\S+)\s+(.+?)((?:\s+(?:\d+|-)){8})\s*$`)

// parseDemo reads the demo table and its "already sent" lines.
func parseDemo(t *testing.T, out string) map[string]demoRow {
	t.Helper()
	rows := map[string]demoRow{}
	for _, line := range strings.Split(out, "\n") {
		m := demoRowRE.FindStringSubmatch(line)
		if m == nil || m[1] == "CAMPAIGN" {
			continue
		}
		r := demoRow{occurrence: m[3]}
		for _, f := range strings.Fields(m[4]) {
			if f == "-" {
				r.before = true
				continue
			}
			n, _ := strconv.Atoi(f)
			r.counts = append(r.counts, n)
		}
		if r.before && !strings.Contains(out, fmt.Sprintf("already sent: %s %s (run started ", m[1], m[3])) {
			t.Fatalf("row %q has no counts and no \"already sent\" line:\n%s", line, out)
		}
		rows[m[1]] = r
	}
	if len(rows) == 0 {
		t.Fatalf("no demo table in:\n%s", out)
	}
	return rows
}

// checkDemoRun checks each row the demo ran now against the ledger rows of
// that run (an independent query).
func checkDemoRun(t *testing.T, st *store.Store, rows map[string]demoRow) {
	t.Helper()
	ctx := context.Background()
	for id, r := range rows {
		if r.before {
			continue
		}
		var runID int64
		if err := st.DB.GetContext(ctx, &runID, st.DB.Rebind(`SELECT id FROM campaign_runs
			WHERE campaign_id = ? AND occurrence = ?`), id, r.occurrence); err != nil {
			t.Fatalf("%s: no run %s: %v", id, r.occurrence, err)
		}
		for i, col := range demoColumns {
			q := `SELECT count(*) FROM deliveries WHERE run_id = ?`
			args := []any{runID}
			if col.statuses != nil {
				q += ` AND status IN (?, ?)`
				args = append(args, col.statuses[0], col.statuses[len(col.statuses)-1])
			}
			var n int
			if err := st.DB.GetContext(ctx, &n, st.DB.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
			if r.counts[i] != n {
				t.Errorf("%s %s: table says %s %d, the run's ledger rows %d", id, r.occurrence, col.name, r.counts[i], n)
			}
		}
	}
}

// newsletters counts the weekly newsletters the relay received.
func newsletters(t *testing.T, relay *smtptest.Server) int {
	t.Helper()
	n := 0
	for _, m := range relay.Messages() {
		h, err := m.Header()
		if err != nil {
			t.Fatal(err)
		}
		if h.Get("Subject") == "This week at the shop" {
			n++
		}
	}
	return n
}

// relayMatchesLedger fails unless the relay received exactly the emails the
// ledger records as sent, over all runs.
func relayMatchesLedger(t *testing.T, st *store.Store, relay *smtptest.Server) {
	t.Helper()
	var n int
	if err := st.DB.GetContext(context.Background(), &n, `SELECT count(*) FROM deliveries
		WHERE status = 'sent' AND channel = 'email'`); err != nil {
		t.Fatal(err)
	}
	if got := len(relay.Messages()); got != n {
		t.Fatalf("relay received %d emails, the ledger records %d sent", got, n)
	}
}

// TestDemoOnceTwiceSendsOnce runs `demo --once` twice against a real SMTP
// relay, as a newcomer would: the second run resends nothing it had sent and
// says which occurrences had run; a named occurrence then sends the
// newsletter again. Every table shows that run's own ledger rows, and the
// relay received exactly the emails the runs' tables say.
func TestDemoOnceTwiceSendsOnce(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			url, relay := storetest.URL(t, d), smtptest.Start(t)
			args := []string{"--database-url", url, "--smtp-url", relay.URL(), "--outbox", t.TempDir(),
				"--campaigns", "../../examples/campaigns"}
			if d == store.Postgres { // the production path: a real Redis
				_, ropt := redistest.Client(t)
				args = append(args, "--redis-url", fmt.Sprintf("redis://%s/%d", ropt.Addr, ropt.DB))
			}
			demoOut := func(extra ...string) (map[string]demoRow, string) {
				t.Helper()
				code, out, errOut := cli(t, append(append(args, "demo", "--once", "--customers", "60"), extra...)...)
				if code != 0 {
					t.Fatalf("demo %v: exit %d\n%s%s", extra, code, out, errOut)
				}
				return parseDemo(t, out), out
			}
			st, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()

			first, out := demoOut()
			checkDemoJourney(t, out)
			news := first["weekly-newsletter"]
			if news.before || news.counts[1] == 0 {
				t.Fatalf("first demo: the newsletter sent nothing: %+v", first)
			}
			checkDemoRun(t, st, first)
			if got := newsletters(t, relay); got != news.counts[1] {
				t.Fatalf("first demo: relay received %d newsletters, the table says %d", got, news.counts[1])
			}
			relayMatchesLedger(t, st, relay)

			second, out := demoOut()
			// A new occurrence fires the journeys again, and the demo then
			// shows one at work again; a second run in the same slot (the
			// daily triggers' quarter hour) fires none.
			if second["win-back-sequence"].occurrence == first["win-back-sequence"].occurrence &&
				strings.Contains(out, "simulated days") {
				t.Errorf("the second demo simulated a journey that had run before:\n%s", out)
			}
			if again := second["weekly-newsletter"]; !again.before || again.occurrence != news.occurrence {
				t.Fatalf("second demo: newsletter %+v, want %s already sent", again, news.occurrence)
			}
			for id, r := range second {
				if r.occurrence == first[id].occurrence && !r.before {
					t.Errorf("second demo ran %s %s again", id, r.occurrence)
				}
			}
			checkDemoRun(t, st, second)
			if got := newsletters(t, relay); got != news.counts[1] {
				t.Fatalf("second demo: relay holds %d newsletters, %d after the first", got, news.counts[1])
			}
			relayMatchesLedger(t, st, relay)

			third, _ := demoOut("--occurrence", "manual-2026-12-03-promo", "--days", "0")
			promo := third["weekly-newsletter"]
			if promo.before || promo.occurrence != "manual-2026-12-03-promo" || promo.counts[1] == 0 {
				t.Fatalf("named occurrence: newsletter %+v, want a new run that sends", promo)
			}
			checkDemoRun(t, st, third)
			if got := newsletters(t, relay); got != news.counts[1]+promo.counts[1] {
				t.Fatalf("named occurrence: relay holds %d newsletters, tables say %d + %d", got, news.counts[1], promo.counts[1])
			}
			relayMatchesLedger(t, st, relay)
			total, err := st.CampaignCounts(context.Background(), "weekly-newsletter")
			if err != nil {
				t.Fatal(err)
			}
			if total[store.StatusSent] != news.counts[1]+promo.counts[1] {
				t.Errorf("newsletter sent %d in all, first run %d + named run %d", total[store.StatusSent], news.counts[1], promo.counts[1])
			}
		})
	}
}

// checkDemoJourney checks the demo's simulated days of the journey it
// fired that most customers entered: a row per day 0 to 12 under a header
// naming the journey's send and wait steps, the same entries every day, sends
// that only grow, and by the last day every customer who entered has left
// (the shipped journeys take at most ten days), by reasons that add up to
// the entries.
func checkDemoJourney(t *testing.T, out string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^(\S+) over 12 simulated days .*\n((?:.*\n){14})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no simulated days of a journey in:\n%s", out)
	}
	lines := strings.Split(m[2], "\n")
	header := strings.Fields(lines[0])
	if len(header) < 5 || strings.Join(header[:3], " ") != "DAY DATE ENTERED" || header[len(header)-1] != "LEFT" {
		t.Fatalf("%s: simulated days header = %q", m[1], lines[0])
	}
	steps := len(header) - 4 // the send and wait steps' columns
	var prev []int
	for day := 0; day <= 12; day++ {
		f := strings.Fields(lines[1+day])
		if len(f) < len(header) || f[0] != strconv.Itoa(day) {
			t.Fatalf("simulated day %d: row %q", day, lines[1+day])
		}
		var n []int // entered, then each step's count
		for _, s := range f[2 : 3+steps] {
			v, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("simulated day %d: %q is not a count in %q", day, s, lines[1+day])
			}
			n = append(n, v)
		}
		if prev != nil && n[0] != prev[0] {
			t.Fatalf("simulated day %d: %d entered, %d the day before", day, n[0], prev[0])
		}
		prev = n
		if day < 12 {
			continue
		}
		left := 0
		for _, r := range regexp.MustCompile(`([a-z_]+) (\d+)`).FindAllStringSubmatch(strings.Join(f[3+steps:], " "), -1) {
			v, _ := strconv.Atoi(r[2])
			left += v
		}
		if left != n[0] {
			t.Fatalf("simulated day 12: %q: %d left of %d entered, want all", lines[1+day], left, n[0])
		}
	}
}
