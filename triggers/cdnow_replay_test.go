package triggers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/imports"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/triggers"
)

// replayBatch is how many events one batch request carries.
const replayBatch = 500

// cdnowLine is one purchase of the CDNOW log as a shop would know it.
type cdnowLine struct {
	customer string // external id, leading zeros kept ("00001")
	day      string // YYYYMMDD
	quantity int
	dollars  string // "11.77", posted as the JSON number itself
}

// readCDNOW reads the log on its own (not through the importer):
// "customer_id YYYYMMDD number_of_cds dollar_value", after a header line.
func readCDNOW(t *testing.T, path string) []cdnowLine {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	var out []cdnowLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 || fs[0] == "customer_id" {
			continue
		}
		if len(fs) != 4 {
			t.Fatalf("%s line %d: %d fields, want customer_id YYYYMMDD quantity dollars", path, n, len(fs))
		}
		q, err := strconv.Atoi(fs[2])
		if err != nil {
			t.Fatalf("%s line %d: quantity %q: %v", path, n, fs[2], err)
		}
		out = append(out, cdnowLine{customer: fs[0], day: fs[1], quantity: q, dollars: fs[3]})
	}
	must(t, sc.Err())
	return out
}

// TestCDNOWReplayMatchesBulkImport replays the whole CDNOW log through the
// real webhook handler, in time order, as signed batches, and checks that
// the database ends exactly as the bulk import leaves it: every customer
// column but the surrogate id and write times (so the derived metrics:
// orders, total spent, first and last purchase, average gap), and every
// purchase (order id, customer, amount, currency, quantity, items, time).
//
// The log has no order ids; the importer derives cdnow-<customer>-<day>-<n>,
// n counting the customer's purchases that day in file order. A shop
// streaming the log in time order (a stable sort by day) sees a customer's
// same-day purchases in file order too, so it derives the same ids. The log
// counts units without item lines: the event says so with "quantity".
func TestCDNOWReplayMatchesBulkImport(t *testing.T) {
	t.Parallel()
	log := storetest.CDNOWPurchases(t) // a tenth of the log under -race
	path := log.Path
	lines := readCDNOW(t, path)
	if len(lines) != log.Purchases {
		t.Fatalf("read %d CDNOW rows, want %d", len(lines), log.Purchases)
	}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			// Pure-Go SQLite takes most of a minute on even the sample
			// under -race; the full log without it (make test's CDNOW_FULL
			// step) proves this dialect.
			if d == store.SQLite && storetest.Race {
				t.Skip("the SQLite replay runs without -race: go test -run CDNOW ./triggers")
			}
			start := time.Now()
			bulk := storetest.Open(t, d)
			f, err := os.Open(path)
			must(t, err)
			sum, err := imports.Purchases(context.Background(), bulk, f, imports.Options{})
			f.Close()
			must(t, err)
			if sum.Inserted != log.Purchases || sum.RejectedCount != 0 {
				t.Fatalf("bulk import: %+v, want %d inserted and none rejected", sum, log.Purchases)
			}
			imported := time.Since(start)

			start = time.Now()
			hook := setupHook(t, d, triggers.WebhookOptions{})
			replay(t, hook, lines)
			t.Logf("%s, %s: bulk import %v, replay through the webhook %v", d, log,
				imported.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

			ctx := context.Background()
			var inbox int
			must(t, hook.st.DB.GetContext(ctx, &inbox, `SELECT count(*) FROM webhook_inbox`))
			if reactions := len(hook.reactions()); inbox != log.Purchases || reactions != log.Purchases {
				t.Fatalf("%d inbox rows and %d reactions, want %d of each", inbox, reactions, log.Purchases)
			}
			// Surrogate keys and write times differ by construction; the
			// purchase's customer is compared by external id.
			customers := `SELECT * FROM customers ORDER BY external_id`
			purchases := `SELECT c.external_id AS customer, p.* FROM purchases p JOIN customers c ON c.id = p.customer_id
				ORDER BY p.order_id`
			skip := []string{"id", "customer_id", "created_at", "updated_at"}
			want, got := dump(t, bulk, customers, skip), dump(t, hook.st, customers, skip)
			diff(t, "customers", want, got, log.Customers)
			want, got = dump(t, bulk, purchases, skip), dump(t, hook.st, purchases, skip)
			diff(t, "purchases", want, got, log.Purchases)
		})
	}
}

// replay posts the log through the batch endpoint in time order.
func replay(t *testing.T, hook *hookBundle, lines []cdnowLine) {
	t.Helper()
	lines = slices.Clone(lines)
	slices.SortStableFunc(lines, func(a, b cdnowLine) int { return strings.Compare(a.day, b.day) })
	seq := map[string]int{} // "customer day" -> purchases so far
	evs := make([]json.RawMessage, 0, replayBatch)
	client := &http.Client{}
	send := func(batch int) {
		body, err := json.Marshal(map[string]any{"events": evs})
		must(t, err)
		code, answer := hook.post(t, client, triggers.PathPurchaseBatch, fmt.Sprintf("cdnow-batch-%d", batch), body)
		if code != http.StatusAccepted {
			t.Fatalf("batch %d: %d %.300s", batch, code, answer)
		}
		var out struct{ Results []triggers.Result }
		must(t, json.Unmarshal(answer, &out))
		if len(out.Results) != len(evs) {
			t.Fatalf("batch %d: %d results for %d events", batch, len(out.Results), len(evs))
		}
		evs = evs[:0]
	}
	for i, l := range lines {
		key := l.customer + " " + l.day
		seq[key]++
		order := fmt.Sprintf("cdnow-%s-%s-%d", l.customer, l.day, seq[key])
		day, err := time.Parse("20060102", l.day)
		must(t, err)
		evs = append(evs, json.RawMessage(fmt.Sprintf(`{"event_id": "evt-%s", "customer": {"external_id": %q},
			"order_id": %q, "amount": %s, "currency": "USD", "quantity": %d, "occurred_at": %q}`,
			order, l.customer, order, l.dollars, l.quantity, day.Format(time.RFC3339))))
		if len(evs) == replayBatch || i == len(lines)-1 {
			send(i / replayBatch)
		}
	}
}

// dumpRow is one row as "column=value" text, keyed by its first column
// that is not skipped.
type dumpRow struct {
	key  string
	text string
}

// dump runs query and renders every row but the skipped columns, so rows of
// two databases of the same dialect compare as text.
func dump(t *testing.T, st *store.Store, query string, skip []string) []dumpRow {
	t.Helper()
	rows, err := st.DB.QueryContext(context.Background(), query)
	must(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	must(t, err)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []dumpRow
	var b strings.Builder
	for rows.Next() {
		must(t, rows.Scan(ptrs...))
		b.Reset()
		key := ""
		for i, c := range cols {
			if slices.Contains(skip, c) {
				continue
			}
			v := vals[i]
			switch x := v.(type) {
			case []byte:
				v = string(x)
			case time.Time:
				v = x.UTC().Format(time.RFC3339Nano)
			}
			if b.Len() == 0 {
				key = fmt.Sprint(v)
			}
			fmt.Fprintf(&b, "%s=%v ", c, v)
		}
		out = append(out, dumpRow{key: key, text: b.String()})
	}
	must(t, rows.Err())
	// Sorted here, not by the database's collation, for the merge in diff.
	slices.SortFunc(out, func(a, b dumpRow) int { return strings.Compare(a.key, b.key) })
	return out
}

// diff reports the first differences between the bulk-imported rows (want)
// and the replayed ones (got), both sorted by key.
func diff(t *testing.T, table string, want, got []dumpRow, rows int) {
	t.Helper()
	if len(want) != rows {
		t.Errorf("%s: bulk import has %d rows, want %d", table, len(want), rows)
	}
	const show = 10
	var shown, mismatches int
	report := func(format string, args ...any) {
		mismatches++
		if shown < show {
			shown++
			t.Errorf("%s: "+format, append([]any{table}, args...)...)
		}
	}
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && want[i].key < got[j].key):
			report("%s only in the bulk import: %s", want[i].key, want[i].text)
			i++
		case i == len(want) || got[j].key < want[i].key:
			report("%s only in the replay: %s", got[j].key, got[j].text)
			j++
		default:
			if want[i].text != got[j].text {
				report("%s differs:\n  bulk:   %s\n  replay: %s", want[i].key, want[i].text, got[j].text)
			}
			i, j = i+1, j+1
		}
	}
	if mismatches > shown {
		t.Errorf("%s: %d more differences", table, mismatches-shown)
	}
}
