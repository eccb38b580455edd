package storetest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// The CDNOW master log's figures: a check independent of any importer.
const (
	CDNOWMasterPurchases = 69659
	CDNOWMasterCustomers = 23570
)

// CDNOWLog is a CDNOW purchase log in the master file's format (a header
// line, then "customer_id YYYYMMDD quantity dollars"), with its figures.
type CDNOWLog struct {
	Path      string
	Purchases int // lines after the header
	Customers int // distinct customer ids
	Sampled   bool
}

// CDNOWPurchases is the log the CDNOW acceptance tests (named TestCDNOW* or
// Test*CDNOW*) replay: the whole master file, or under the race detector
// every tenth customer of it (about 7,000 purchases). The race detector
// makes the full log take minutes per database, and finds the same races on
// a tenth of it; `make test` runs these tests a second time without -race
// on the full log (the Makefile's CDNOW_FULL step).
func CDNOWPurchases(t testing.TB) CDNOWLog {
	t.Helper()
	master := CDNOWFile(t, "CDNOW_master.txt")
	if !Race {
		return CDNOWLog{Path: master, Purchases: CDNOWMasterPurchases, Customers: CDNOWMasterCustomers}
	}
	return sampleCDNOW(t, master, 10)
}

// sampleCDNOW writes the lines of every customer whose id is a multiple of
// every to a file of the test's and counts them on its own.
func sampleCDNOW(t testing.TB, master string, every int) CDNOWLog {
	t.Helper()
	in, err := os.Open(master)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	log := CDNOWLog{Path: filepath.Join(t.TempDir(), "CDNOW_sample_every_"+strconv.Itoa(every)+".txt"), Sampled: true}
	var b strings.Builder
	seen := map[string]bool{}
	sc := bufio.NewScanner(in)
	for n := 1; sc.Scan(); n++ {
		fs := strings.Fields(sc.Text())
		if n == 1 {
			b.WriteString(sc.Text() + "\n") // the header
			continue
		}
		id, err := strconv.Atoi(fs[0])
		if err != nil {
			t.Fatalf("%s line %d: customer id %q: %v", master, n, fs[0], err)
		}
		if id%every != 0 {
			continue
		}
		b.WriteString(sc.Text() + "\n")
		log.Purchases++
		if !seen[fs[0]] {
			seen[fs[0]] = true
			log.Customers++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if log.Purchases == 0 {
		t.Fatalf("no purchases sampled from %s", master)
	}
	if err := os.WriteFile(log.Path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return log
}

// String names the log for test output.
func (l CDNOWLog) String() string {
	what := "CDNOW_master.txt"
	if l.Sampled {
		what = "CDNOW_master.txt, every tenth customer (-race)"
	}
	return fmt.Sprintf("%s: %d purchases by %d customers", what, l.Purchases, l.Customers)
}
