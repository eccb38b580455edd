package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTiersFileIsCheckedAtLoad: the example tiers file loads with the
// example campaigns; a file whose first tier is not the entry tier stops
// the command with the file, the tier and what to write.
func TestTiersFileIsCheckedAtLoad(t *testing.T) {
	t.Parallel()
	if code, out, errOut := cli(t, "--tiers", "../../examples/tiers.yaml", "validate", "../../examples/campaigns"); code != 0 {
		t.Fatalf("validate with examples/tiers.yaml: exit %d\n%s%s", code, out, errOut)
	}
	bad := filepath.Join(t.TempDir(), "tiers.yaml")
	if err := os.WriteFile(bad, []byte("tiers: [{name: silver, min: 100}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := cli(t, "--tiers", bad, "validate", "../../examples/campaigns")
	if code == 0 || !strings.Contains(errOut, "TIDINGS_TIERS "+bad) || !strings.Contains(errOut, "give it min: 0") {
		t.Fatalf("a tiers file without an entry tier: exit %d, stderr %q", code, errOut)
	}
}
