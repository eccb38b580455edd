package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker/redistest"
)

// The person of the erasure test: values no synthetic customer has.
const (
	erEmail = "Quentin.Erasable@Example.org"
	erPhone = "+13055550199"
	erFirst = "Quenturion"
	erLast  = "Xylobrandt"
)

// TestEraseLeavesNoTrace is the erasure's acceptance test, on both
// databases with a real Redis: a customer imported, sent the example
// campaigns into the outbox, with a webhook event and a failed send quoting
// the address, is erased with the CLI; then the whole database (and the
// SQLite file with its WAL), every Redis key and value, the outbox and every
// log line hold none of the email, phone or names; reports are unchanged;
// the same address imported again by CSV and by webhook, and every example
// campaign run again, gets no message.
func TestEraseLeavesNoTrace(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			w := newEraseWorld(t, d)
			w.seed()
			before := w.outcomes()
			id := w.customerID(erFirst)
			code, out, _ := cli(t, append(w.args, "customers", "export", strings.ToLower(erEmail))...)
			if code != 0 || !strings.Contains(out, erLast) || !strings.Contains(out, `"source": "import"`) {
				t.Fatalf("export before the erasure: exit %d\n%s", code, out)
			}
			w.run("customers", "erase", erPhone)

			w.assertNoTrace()
			if after := w.outcomes(); !reflect.DeepEqual(before, after) {
				t.Errorf("reports changed by the erasure:\nbefore %+v\nafter  %+v", before, after)
			}
			code, out, _ = cli(t, append(w.args, "customers", "export", fmt.Sprint(id))...)
			if code != 0 || !strings.Contains(out, `"erased_at"`) || !strings.Contains(out, `"source": "erasure"`) {
				t.Fatalf("export after the erasure: exit %d\n%s", code, out)
			}

			w.comeBack()
			w.run("demo", "--once", "--days", "0", "--occurrence", "manual-after-erasure")
			var n int
			if err := w.st.DB.Get(&n, w.st.DB.Rebind(`SELECT count(*) FROM deliveries d JOIN customers c ON c.id = d.customer_id
				WHERE (lower(c.email) = ? OR c.phone = ?) AND d.status IN ('pending', 'deferred', 'sending', 'sent', 'unknown')`),
				strings.ToLower(erEmail), erPhone); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d messages planned or sent to the erased address after it came back", n)
			}
			if hits := grepDir(t, w.outbox, erEmail, erPhone); len(hits) > 0 {
				t.Errorf("the outbox has messages to the erased address after it came back: %v", hits)
			}
		})
	}
}

type eraseWorld struct {
	t      *testing.T
	d      store.Dialect
	url    string
	outbox string
	rdb    *redis.Client
	args   []string
	st     *store.Store
	logs   strings.Builder // every stdout and stderr of the CLI but the exports
}

func newEraseWorld(t *testing.T, d store.Dialect) *eraseWorld {
	w := &eraseWorld{t: t, d: d, url: storetest.URL(t, d), outbox: filepath.Join(t.TempDir(), "outbox")}
	var ropt *redis.Options
	w.rdb, ropt = redistest.Client(t)
	w.args = []string{"--database-url", w.url, "--outbox", w.outbox, "--campaigns", "../../examples/campaigns",
		"--redis-url", fmt.Sprintf("redis://%s/%d", ropt.Addr, ropt.DB)}
	return w
}

func (w *eraseWorld) run(args ...string) {
	w.t.Helper()
	code, out, errOut := cli(w.t, append(w.args, args...)...)
	w.logs.WriteString(out + errOut)
	if code != 0 {
		w.t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
	}
}

// seed runs the demo (synthetic customers), imports the person with
// consent, posts a purchase webhook with their profile, runs every example
// campaign again, and records a failed send whose error quotes the address.
func (w *eraseWorld) seed() {
	t := w.t
	w.run("demo", "--once", "--days", "0", "--customers", "60")
	csv := filepath.Join(t.TempDir(), "person.csv")
	body := "external_id,email,phone,first_name,last_name,email_consent,sms_consent,time_zone\n" +
		"quentin-1," + erEmail + "," + erPhone + "," + erFirst + "," + erLast + ",true,true,America/New_York\n"
	if err := os.WriteFile(csv, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	w.run("import", "customers", csv)
	w.postWebhook("evt-quentin-1", "quentin-1", true)
	w.run("demo", "--once", "--days", "0", "--occurrence", "manual-with-quentin")
	st, err := store.Open(context.Background(), w.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.LoadHashKey(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	w.st = st
	id := w.customerID(erFirst)
	var sent int
	if err := st.DB.Get(&sent, st.DB.Rebind(`SELECT count(*) FROM deliveries WHERE customer_id = ? AND status = 'sent'`), id); err != nil || sent == 0 {
		t.Fatalf("the person was sent %d messages (%v): the test would prove nothing", sent, err)
	}
	if _, err := st.DB.Exec(st.DB.Rebind(`UPDATE deliveries SET error = ? WHERE id =
		(SELECT min(id) FROM deliveries WHERE customer_id = ?)`), "550 5.1.1 <"+erEmail+">: no such user", id); err != nil {
		t.Fatal(err)
	}
	if hits := grepDir(t, w.outbox, erEmail); len(hits) == 0 {
		t.Fatal("the outbox holds no message to the person: the test would prove nothing")
	}
}

// postWebhook posts a signed purchase event carrying the person's profile
// through the served webhook.
func (w *eraseWorld) postWebhook(eventID, ext string, consent bool) {
	t := w.t
	srv := serveHTTP(t, []string{"--database-url", w.url, "--campaigns", "../../examples/campaigns"})
	ev := fmt.Sprintf(`{"event_id": %q, "customer": {"external_id": %q, "email": %q, "phone": %q, "first_name": %q,
		"last_name": %q, "email_consent": %v, "sms_consent": %v}, "order_id": "o-%s", "amount": 30,
		"items": [{"name": "Gift for %s", "quantity": 1, "price": 30}], "occurred_at": %q}`,
		eventID, ext, erEmail, erPhone, erFirst, erLast, consent, consent, eventID, erFirst, time.Now().UTC().Format(time.RFC3339))
	if code := postSigned(t, srv.URL, eventID, []byte(ev)); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
}

func (w *eraseWorld) customerID(first string) int64 {
	w.t.Helper()
	var id int64
	if err := w.st.DB.Get(&id, w.st.DB.Rebind(`SELECT id FROM customers WHERE first_name = ?`), first); err != nil {
		w.t.Fatalf("customer %s: %v", first, err)
	}
	return id
}

// outcomes is every example campaign's report, as the store computes it.
func (w *eraseWorld) outcomes() map[string]*store.Outcomes {
	w.t.Helper()
	var ids []string
	if err := w.st.DB.Select(&ids, `SELECT DISTINCT campaign_id FROM deliveries ORDER BY campaign_id`); err != nil {
		w.t.Fatal(err)
	}
	out := map[string]*store.Outcomes{}
	for _, id := range ids {
		o, err := w.st.CampaignOutcomes(context.Background(), id, 7*24*time.Hour)
		if err != nil {
			w.t.Fatal(err)
		}
		out[id] = o
	}
	return out
}

// secrets are the values that must be gone, in the spellings they were
// stored or sent in.
func secrets() []string {
	return []string{erEmail, strings.ToLower(erEmail), erPhone, strings.TrimPrefix(erPhone, "+1"), erFirst, erLast}
}

func (w *eraseWorld) assertNoTrace() {
	t := w.t
	where := map[string][]byte{"database": []byte(storetest.DumpAll(t, w.st)), "logs": []byte(w.logs.String())}
	if w.d == store.SQLite {
		where["sqlite file and WAL"] = storetest.SQLiteFiles(t, w.url)
	}
	where["redis"] = redisDump(t, w.rdb)
	if !bytes.Contains(where["database"], []byte("erased:")) {
		t.Fatal("the dump shows no tombstone: it proves nothing")
	}
	for place, data := range where {
		low := bytes.ToLower(data)
		for _, s := range secrets() {
			if bytes.Contains(low, []byte(strings.ToLower(s))) {
				t.Errorf("%q is still in the %s after the erasure", s, place)
			}
		}
	}
	if hits := grepDir(t, w.outbox, secrets()...); len(hits) > 0 {
		t.Errorf("the outbox still holds the person: %v", hits)
	}
}

// comeBack imports the erased address again by CSV (old and new external
// id) and by webhook, each saying the person consents.
func (w *eraseWorld) comeBack() {
	t := w.t
	csv := filepath.Join(t.TempDir(), "again.csv")
	body := "external_id,email,phone,first_name,email_consent,sms_consent\n" +
		"quentin-1," + strings.ToUpper(erEmail) + "," + erPhone + ",Q,true,true\n" +
		"quentin-2," + erEmail + "," + erPhone + ",Q,true,true\n"
	if err := os.WriteFile(csv, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	w.run("import", "customers", csv)
	w.postWebhook("evt-quentin-3", "quentin-3", true)
	var n int
	if err := w.st.DB.Get(&n, w.st.DB.Rebind(`SELECT count(*) FROM customers WHERE lower(email) = ?
		AND (email_consent OR sms_consent)`), strings.ToLower(erEmail)); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d customers with the erased address came back with consent", n)
	}
}

// redisDump is every key of the test's Redis database and its value.
func redisDump(t *testing.T, rdb *redis.Client) []byte {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(k + "\n")
		switch rdb.Type(ctx, k).Val() {
		case "string":
			b.WriteString(rdb.Get(ctx, k).Val())
		case "hash":
			fmt.Fprint(&b, rdb.HGetAll(ctx, k).Val())
		case "list":
			fmt.Fprint(&b, rdb.LRange(ctx, k, 0, -1).Val())
		case "set":
			fmt.Fprint(&b, rdb.SMembers(ctx, k).Val())
		case "zset":
			fmt.Fprint(&b, rdb.ZRange(ctx, k, 0, -1).Val())
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// grepDir returns the files under dir that contain any of the values
// (compared without case).
func grepDir(t *testing.T, dir string, values ...string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		low := bytes.ToLower(data)
		for _, v := range values {
			if bytes.Contains(low, []byte(strings.ToLower(v))) {
				hits = append(hits, filepath.Base(path)+": "+v)
			}
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return hits
}
