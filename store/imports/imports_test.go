package imports_test

import (
	"bufio"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/imports"
	"github.com/tidings-crm/tidings/store/storetest"
)

// cdnowDir is the folder of the CDNOW data set.
func cdnowDir(t *testing.T) string {
	return filepath.Dir(storetest.CDNOWFile(t, "CDNOW_master.txt"))
}

// fileTotals reads CDNOW_master.txt independently of the importer: per
// customer id, the number of purchases and their total in cents.
func fileTotals(t *testing.T, path string) (map[string][2]int64, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][2]int64{}
	var all int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 || fs[0] == "customer_id" {
			continue
		}
		dollars, err := strconv.ParseFloat(fs[3], 64)
		if err != nil {
			t.Fatal(err)
		}
		cents := int64(dollars*100 + 0.5)
		v := out[fs[0]]
		out[fs[0]] = [2]int64{v[0] + 1, v[1] + cents}
		all += cents
	}
	return out, all
}

func importFile(t *testing.T, st *store.Store, path string, fn func(context.Context, *store.Store, *os.File) (imports.Summary, error)) (imports.Summary, time.Duration) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	sum, err := fn(context.Background(), st, f)
	if err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
	return sum, time.Since(start)
}

func purchases(ctx context.Context, st *store.Store, f *os.File) (imports.Summary, error) {
	return imports.Purchases(ctx, st, f, imports.Options{})
}

// purchasesWithProgress imports and records the last progress report.
func purchasesWithProgress(last *int64) func(context.Context, *store.Store, *os.File) (imports.Summary, error) {
	return func(ctx context.Context, st *store.Store, f *os.File) (imports.Summary, error) {
		return imports.Purchases(ctx, st, f, imports.Options{Progress: func(n int64) { *last = n }})
	}
}

// TestImportCDNOWMaster imports the CDNOW log (a tenth of it under -race:
// storetest.CDNOWPurchases) on both stores, re-imports it (nothing changes),
// and checks the derived metrics against the file read independently.
func TestImportCDNOWMaster(t *testing.T) {
	t.Parallel()
	log := storetest.CDNOWPurchases(t)
	path := log.Path
	want, wantCents := fileTotals(t, path)
	// A few customers checked against the file one by one: the first, two
	// more, one in the middle and the last.
	ids := slices.Sorted(maps.Keys(want))
	ids = []string{ids[0], ids[1], ids[2], ids[len(ids)/2], ids[len(ids)-1]}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			var progress int64
			sum, took := importFile(t, st, path, purchasesWithProgress(&progress))
			if fi, _ := os.Stat(path); progress != fi.Size() {
				t.Errorf("last progress report = %d bytes, want the file size %d", progress, fi.Size())
			}
			t.Logf("%s: imported %s in %v (%.0f rows/s)", d, log, took.Round(time.Millisecond),
				float64(sum.Read)/took.Seconds())
			if sum.Read != log.Purchases || sum.Inserted != log.Purchases || sum.RejectedCount != 0 {
				t.Fatalf("first import = %+v; want %d read and inserted, none rejected", sum, log.Purchases)
			}
			checkCounts(t, st, int64(log.Customers), int64(log.Purchases))

			again, took := importFile(t, st, path, purchases)
			t.Logf("%s: re-import in %v", d, took.Round(time.Millisecond))
			if again.Inserted != 0 || again.Updated != 0 || again.Unchanged != log.Purchases {
				t.Fatalf("re-import = %+v; want everything unchanged", again)
			}
			checkCounts(t, st, int64(log.Customers), int64(log.Purchases))

			// Stored metrics equal an independent aggregate over purchases...
			var bad int
			err := st.DB.Get(&bad, `SELECT count(*) FROM customers c LEFT JOIN (
					SELECT customer_id, count(*) AS n, sum(amount_cents) AS total,
						min(occurred_at) AS first_at, max(occurred_at) AS last_at
					FROM purchases GROUP BY customer_id) p ON p.customer_id = c.id
				WHERE c.orders_count <> coalesce(p.n, 0) OR c.total_spent_cents <> coalesce(p.total, 0)
					OR c.first_purchase_at <> p.first_at OR c.last_purchase_at <> p.last_at
					OR (p.n IS NULL AND c.first_purchase_at IS NOT NULL)`)
			if err != nil || bad != 0 {
				t.Fatalf("%d customers have metrics that differ from their purchases (err %v)", bad, err)
			}
			var total int64
			if err := st.DB.Get(&total, `SELECT sum(total_spent_cents) FROM customers`); err != nil || total != wantCents {
				t.Fatalf("sum of total_spent_cents = %d (%v), file says %d", total, err, wantCents)
			}
			// ...and the file itself, for a few customers.
			for _, id := range ids {
				c, err := st.CustomerByExternalID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				w := want[id]
				if int64(c.OrdersCount) != w[0] || c.TotalSpentCents != w[1] {
					t.Errorf("customer %s: %d orders, %d cents; file says %d, %d", id, c.OrdersCount, c.TotalSpentCents, w[0], w[1])
				}
				if c.OrdersCount > 1 {
					days := c.LastPurchaseAt.Sub(c.FirstPurchaseAt).Hours() / 24 / float64(c.OrdersCount-1)
					if diff := days - c.AvgDaysBetween; diff > 1e-6 || diff < -1e-6 {
						t.Errorf("customer %s: avg_days_between %v, want %v", id, c.AvgDaysBetween, days)
					}
				}
			}
		})
	}
}

func checkCounts(t *testing.T, st *store.Store, customers, purchases int64) {
	t.Helper()
	ctx := context.Background()
	nc, err1 := st.CountCustomers(ctx)
	np, err2 := st.CountPurchases(ctx)
	if err1 != nil || err2 != nil || nc != customers || np != purchases {
		t.Fatalf("counts = %d customers, %d purchases (%v, %v); want %d, %d", nc, np, err1, err2, customers, purchases)
	}
}

// The sample file carries an extra sample id column; its purchases get the
// same order ids as in the master file, so importing both adds nothing new.
// (PostgreSQL only: the SQLite import of the master file is already covered
// above and is slow under -race.)
func TestImportCDNOWSampleAfterMaster(t *testing.T) {
	t.Parallel()
	dir := cdnowDir(t)
	st := storetest.Open(t, store.Postgres)
	importFile(t, st, filepath.Join(dir, "CDNOW_master.txt"), purchases)
	sum, _ := importFile(t, st, filepath.Join(dir, "CDNOW_sample.txt"), purchases)
	if sum.Read != 6919 || sum.Unchanged != 6919 || sum.RejectedCount != 0 {
		t.Fatalf("sample after master = %+v; want 6919 unchanged", sum)
	}
}
