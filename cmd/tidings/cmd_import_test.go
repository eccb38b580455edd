package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

func TestImportReportsBadBytesAtLineAndColumn(t *testing.T) {
	t.Parallel()
	path, code, out, errOut := importCustomersCLI(t, "external_id,first_name,last_name\n"+
		"a1,Ann,Lee\n"+
		"a2,Bj\xf6rn,Berg\n"+
		"a3,Cy,N\x00ll\n"+
		"a4,Dee,Day\n")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (rows rejected)\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"4 rows read", "2 inserted", "2 rejected",
		path + ":3:4: first_name: the value is not valid UTF-8 (byte 0xF6 at byte 3",
		path + ":4:7: last_name: the value contains a NUL byte (at byte 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// importCustomersCLI writes csv to a file and runs `tidings import
// customers` on it into a new SQLite database.
func importCustomersCLI(t *testing.T, csv string) (path string, code int, out, errOut string) {
	t.Helper()
	url := storetest.URL(t, store.SQLite)
	path = filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = cli(t, "--database-url", url, "import", "customers", path)
	return path, code, out, errOut
}
