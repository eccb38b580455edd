package storetest

import (
	"os"
	"path/filepath"
	"testing"
)

// CDNOWFile returns the path of a file of the CDNOW data set (e.g.
// "CDNOW_master.txt"): from TIDINGS_CDNOW_DIR when set, otherwise from the
// first shared/data/cdnow folder found walking up from the test's folder
// (the checkout sits beside shared/). It fails the test when the file is
// missing, saying where it looked: the acceptance tests need the real data.
func CDNOWFile(t testing.TB, name string) string {
	t.Helper()
	if dir := os.Getenv("TIDINGS_CDNOW_DIR"); dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("TIDINGS_CDNOW_DIR=%s: %v", dir, err)
		}
		return p
	}
	start, _ := os.Getwd()
	for dir := start; ; {
		p := filepath.Join(dir, "shared", "data", "cdnow", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("CDNOW file %s not found: no shared/data/cdnow in %s or its parents; "+
				"put the repository beside shared/ or set TIDINGS_CDNOW_DIR", name, start)
		}
		dir = parent
	}
}
