package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// cli runs the tidings command line in-process and returns exit code, stdout
// and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer // the logger and the command may write at once
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestValidateExamplesPass(t *testing.T) {
	t.Parallel()
	code, out, errOut := cli(t, "validate", "../../examples/campaigns")
	if code != 0 {
		t.Fatalf("validate examples: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "campaign(s) valid") {
		t.Errorf("stderr = %q, want a count of valid campaigns", errOut)
	}
}

// TestValidateReportsExactPositions breaks a copy of an example campaign in
// four ways and checks each problem is reported at its file:line:col.
func TestValidateReportsExactPositions(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../examples/campaigns/weekly-newsletter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, old, new string
		want           string // regexp on the problem line, after "file:"
	}{
		{"misspelled key", "\naudience:", "\naudiance:",
			`^\d+:1: unknown key "audiance" in the campaign; did you mean "audience"\?`},
		{"unknown rule name", "email_consent", "totl_spent > 100 && email_consent",
			`^\d+:\d+: audience: unknown name "totl_spent"; did you mean "total_spent"\?`},
		{"non-boolean rule", "email_consent && days_since_last_purchase >= 0 && days_since_last_purchase <= 365", "total_spent + 1",
			`^\d+:\d+: audience: .*true or false`},
		{"unknown template field", "{{ ", "{{ .frist_name }}{{ ",
			`^\d+:\d+: messages\.email\.\w+: unknown field "frist_name"; did you mean "first_name"\?`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(src, []byte(tc.old)) {
				t.Fatalf("example no longer contains %q; update the test", tc.old)
			}
			broken := strings.Replace(string(src), tc.old, tc.new, 1)
			dir := t.TempDir()
			path := filepath.Join(dir, "broken.yaml")
			if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, _ := cli(t, "validate", dir)
			if code != 1 {
				t.Fatalf("exit %d, want 1; output:\n%s", code, out)
			}
			line := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
			if !strings.HasPrefix(line, path+":") {
				t.Fatalf("problem line %q does not start with the file path", line)
			}
			rest := strings.TrimPrefix(line, path+":")
			if !regexp.MustCompile(tc.want).MatchString(rest) {
				t.Fatalf("problem %q does not match %q", rest, tc.want)
			}
			checkPosition(t, broken, rest)
		})
	}
}

// checkPosition asserts that line:col of a problem points into the file at
// the token the message is about (the first quoted name in the message, or a
// non-space character).
func checkPosition(t *testing.T, file, problem string) {
	t.Helper()
	parts := strings.SplitN(problem, ":", 3)
	line, _ := strconv.Atoi(parts[0])
	col, _ := strconv.Atoi(parts[1])
	lines := strings.Split(file, "\n")
	if line < 1 || line > len(lines) || col < 1 || col > len(lines[line-1])+1 {
		t.Fatalf("position %d:%d is outside the file", line, col)
	}
	at := lines[line-1][col-1:]
	if m := regexp.MustCompile(`"([a-z_]+)"`).FindStringSubmatch(parts[2]); m != nil &&
		!strings.Contains(parts[2], "true or false") {
		if !strings.HasPrefix(at, m[1]) && !strings.HasPrefix(at, "."+m[1]) {
			t.Fatalf("position %d:%d points at %q, want the name %q", line, col, at, m[1])
		}
	}
}

var matchRE = regexp.MustCompile(`: (\d+) of (\d+) customers match`)

// TestAudienceOnCDNOWMatchesIndependentSQL imports the CDNOW log (a tenth
// of it under -race: storetest.CDNOWPurchases) through the CLI on both
// stores, re-imports it (nothing changes), then checks that `tidings
// audience` counts the same customers as a hand-written SQL query for several
// rules.
func TestAudienceOnCDNOWMatchesIndependentSQL(t *testing.T) {
	t.Parallel()
	log := storetest.CDNOWPurchases(t)
	now := time.Date(1998, 7, 1, 0, 0, 0, 0, time.UTC)
	rulesVsSQL := []struct{ rule, sql string }{
		{"orders_count >= 3", "orders_count >= 3"},
		{"total_spent > 100", "total_spent_cents > 10000"},
		{"days_since_last_purchase > 180", "last_purchase_at <= ?"}, // floor(days) > 180  <=>  at least 181 days
		{"orders_count >= 2 && avg_days_between_purchases < 30", "orders_count >= 2 AND avg_days_between < 30"},
		{"average_order_value > 50 || orders_count > 10",
			"(orders_count > 0 AND total_spent_cents > 5000 * orders_count) OR orders_count > 10"},
	}
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			url := storetest.URL(t, dialect)
			dir := t.TempDir()
			for i, r := range rulesVsSQL {
				yaml := fmt.Sprintf("id: rule-%d\nname: rule %d\ntrigger: {schedule: {cron: \"@daily\"}}\n"+
					"audience: %q\nchannels: [email]\nmessages: {email: {subject: hi, text: hi}}\n", i, i, r.rule)
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("r%d.yaml", i)), []byte(yaml), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			base := []string{"--database-url", url, "--campaigns", dir}
			code, out, errOut := cli(t, append(base, "import", "purchases", log.Path)...)
			if code != 0 || !strings.Contains(out, fmt.Sprintf("%d rows read", log.Purchases)) ||
				!strings.Contains(out, fmt.Sprintf("%d inserted", log.Purchases)) {
				t.Fatalf("first import of %s: exit %d\n%s%s", log, code, out, errOut)
			}
			code, out, errOut = cli(t, append(base, "import", "purchases", log.Path)...)
			if code != 0 || !strings.Contains(out, fmt.Sprintf("0 inserted, 0 updated, %d unchanged, 0 rejected", log.Purchases)) {
				t.Fatalf("second import changed something: exit %d\n%s%s", code, out, errOut)
			}
			st, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if n, _ := st.CountCustomers(context.Background()); n != int64(log.Customers) {
				t.Fatalf("customers = %d, want %d", n, log.Customers)
			}
			for i, r := range rulesVsSQL {
				code, out, errOut := cli(t, append(base, "audience", fmt.Sprintf("rule-%d", i), "--at", "1998-07-01", "--sample", "0")...)
				m := matchRE.FindStringSubmatch(out)
				if code != 0 || m == nil {
					t.Fatalf("audience %q: exit %d\n%s%s", r.rule, code, out, errOut)
				}
				got, _ := strconv.Atoi(m[1])
				var want int
				q := st.DB.Rebind("SELECT count(*) FROM customers WHERE " + r.sql)
				var args []any
				if strings.Contains(r.sql, "?") {
					args = append(args, now.AddDate(0, 0, -181))
				}
				if err := st.DB.Get(&want, q, args...); err != nil {
					t.Fatalf("independent SQL for %q: %v", r.rule, err)
				}
				if got != want || want == 0 {
					t.Errorf("rule %q: audience %d, SQL %d", r.rule, got, want)
				}
			}
		})
	}
}

func TestImportCustomersReportsBadRows(t *testing.T) {
	t.Parallel()
	path, code, out, errOut := importCustomersCLI(t, "external_id,email,time_zone,birthday\n"+
		"a1,ann@example.com,Europe/Paris,1990-04-02\n"+
		"a2,bob@,Europe/Paris,\n"+
		"a3,cy@example.com,Mars/Olympus,\n"+
		"a4,dee@example.com,,1985-02-29\n")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (rows rejected)\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"4 rows read", "1 inserted", "3 rejected", path + ":3:", path + ":4:", path + ":5:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestConfigErrorsSayWhatToFix(t *testing.T) {
	t.Parallel()
	code, _, errOut := cli(t, "--database-url", "mysql://x", "--time-zone", "Mars/Base", "validate", "../../examples/campaigns")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"TIDINGS_DATABASE_URL: must start with postgres:// or sqlite:", "TIDINGS_TIME_ZONE: unknown time zone \"Mars/Base\""} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// TestREADMEDocumentsEveryVariable keeps the README's configuration table
// true: every setting's variable and YAML key is listed.
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	for _, s := range c.settings() {
		if !strings.Contains(string(readme), "| `"+s.env+"` | `"+s.yaml+"` |") {
			t.Errorf("README configuration table lacks %s (%s)", s.env, s.yaml)
		}
	}
	if !strings.Contains(string(readme), "make test") || !strings.Contains(string(readme), "make demo") {
		t.Error("README must name the two set-up commands, make demo and make test")
	}
}

// TestDemoOnceSendsIntoTheOutbox runs the README's first command on a fresh
// SQLite file with the in-process Redis, and checks the table and the outbox
// (the journey simulation after the table is TestDemoOnceTwiceSendsOnce's).
func TestDemoOnceSendsIntoTheOutbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errOut := cli(t, "--database-url", "sqlite:"+filepath.Join(dir, "demo.db"), "--outbox", filepath.Join(dir, "outbox"),
		"--campaigns", "../../examples/campaigns", "demo", "--once", "--customers", "400", "--days", "0")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", code, out, errOut)
	}
	m := regexp.MustCompile(`weekly-newsletter\s+schedule\s+\S+(?: \S+)?\s+(\d+)\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no newsletter row in the table:\n%s", out)
	}
	sent, _ := strconv.Atoi(m[2])
	files, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	if sent == 0 || sent > len(files) || m[1] == "0" {
		t.Fatalf("newsletter audience %s sent %d, outbox holds %d .eml files\n%s", m[1], sent, len(files), out)
	}
	for _, col := range []string{"AUDIENCE", "SENT", "SUPPRESSED", "CAPPED", "DEFERRED", "HOLDOUT"} {
		if !strings.Contains(out, col) {
			t.Errorf("table lacks column %s", col)
		}
	}
}

// A rule may compare rfm.segment only with a segment the deployment's
// segment map names: the default map's, or TIDINGS_SEGMENT_MAP's.
func TestValidateChecksSegmentsAgainstTheConfiguredMap(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../examples/campaigns/weekly-newsletter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	camp := filepath.Join(dir, "vip.yaml")
	broken := strings.Replace(string(src), "email_consent &&", `rfm.segment == "vip" && email_consent &&`, 1)
	segmap := filepath.Join(t.TempDir(), "segments.yaml")
	for path, data := range map[string]string{camp: broken, segmap: "vip: [\"5*\"]\nothers: [\"**\"]\n"} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ := cli(t, "validate", dir)
	if want := camp + `:9:18: audience: unknown RFM segment "vip"`; code != 1 || !strings.HasPrefix(out, want) {
		t.Errorf("default map: exit %d, output %q; want 1 and %q", code, out, want)
	}
	code, out, errOut := cli(t, "--segment-map", segmap, "validate", dir)
	if code != 0 {
		t.Errorf("custom map: exit %d\n%s%s", code, out, errOut)
	}
}
