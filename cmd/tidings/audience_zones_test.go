package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestAudienceCountsStatedInferredAndDefaultZones checks that `tidings
// audience` says whose local times rest on a stated zone, on one inferred
// from the phone number, or on the configured default: a New York and a
// Paris number without a zone are inferred, a stated zone (even with a
// phone) counts as stated, and no zone with no usable number is the default.
func TestAudienceCountsStatedInferredAndDefaultZones(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csv := "external_id,email,phone,time_zone,email_consent\n" +
		"ny,ny@example.com,+12125550101,,true\n" +
		"fr,fr@example.com,+33612345678,,true\n" +
		"tokyo,tk@example.com,+12125550102,Asia/Tokyo,true\n" +
		"none,none@example.com,,,true\n"
	custs := filepath.Join(dir, "customers.csv")
	campDir := filepath.Join(dir, "campaigns")
	if err := os.MkdirAll(campDir, 0o755); err != nil {
		t.Fatal(err)
	}
	camp := "id: all\nname: All\ntrigger: {schedule: {cron: \"0 10 * * MON\"}}\naudience: \"true\"\nchannels: [email]\n" +
		"messages: {email: {subject: Hi, text: Hi}}\n"
	for path, body := range map[string]string{custs: csv, filepath.Join(campDir, "all.yaml"): camp} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"--database-url", storetest.URL(t, store.SQLite), "--campaigns", campDir, "--time-zone", "UTC"}
	if code, out, errOut := cli(t, append(base, "import", "customers", custs)...); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := cli(t, append(base, "audience", "all", "--sample", "0")...)
	if code != 0 {
		t.Fatalf("audience: exit %d\n%s%s", code, out, errOut)
	}
	want := "time zones: 1 stated, 2 inferred from the phone number, 1 default (UTC)"
	if !strings.Contains(out, want) {
		t.Fatalf("audience output lacks %q:\n%s", want, out)
	}
}
