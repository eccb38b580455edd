package unsubscribe_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/unsubscribe"
)

// bundle is one test's isolated store and running handler.
type bundle struct {
	st     *store.Store
	signer unsubscribe.Signer
	secret string // the inbound SMS secret ("" with Twilio's token)
	nextID atomic.Int64
	srv    *httptest.Server
	client *http.Client // never follows redirects, keeps no cookies
}

// testInboundSecret signs the generic provider's inbound SMS in tests.
const testInboundSecret = "whsec_dGlkaW5ncy1pbmJvdW5kLXNtcy10ZXN0LXNlY3JldA=="

func setup(t *testing.T, d store.Dialect, mod func(*unsubscribe.Options)) *bundle {
	t.Helper()
	st := storetest.Open(t, d)
	b := &bundle{st: st, signer: unsubscribe.Signer{Key: testKey}}
	logs := &lockedBuffer{}
	opts := unsubscribe.Options{Store: st, Signer: b.signer, Brand: "Acme", Contact: "help@acme.example",
		InboundSecret: testInboundSecret, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	// Whatever the test did, no email address or phone number may appear
	// in the logs in clear.
	t.Cleanup(func() {
		if addr := clearAddress.FindString(logs.String()); addr != "" {
			t.Errorf("logs hold the address %q in clear:\n%s", addr, logs.String())
		}
	})
	if mod != nil {
		mod(&opts)
	}
	b.secret = opts.InboundSecret
	h, err := unsubscribe.Handler(opts)
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(h)
	t.Cleanup(b.srv.Close)
	b.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return b
}

// clearAddress matches an email address or an E.164 phone number.
var clearAddress = regexp.MustCompile(`[\w.+-]+@[\w-]+\.[\w.]+|\+\d{8,15}`)

// lockedBuffer collects log lines from the handler's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// customer inserts a customer with the given consents and returns its id.
func (b *bundle) customer(t *testing.T, ext, email, phone string, consent bool) int64 {
	t.Helper()
	_, err := b.st.DB.Exec(b.st.DB.Rebind(`INSERT INTO customers (external_id, email, phone, email_consent, sms_consent)
		VALUES (?, ?, ?, ?, ?)`), ext, email, phone, consent, consent)
	if err != nil {
		t.Fatalf("insert customer: %v", err)
	}
	c, err := b.st.CustomerByExternalID(context.Background(), ext)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// addressNames maps the keyed hash of each customer's address, and of the
// numbers the tests text from, back to the address, so state reads plainly.
func (b *bundle) addressNames(t *testing.T) map[string]string {
	t.Helper()
	var addrs []string
	if err := b.st.DB.Select(&addrs, `SELECT email FROM customers UNION SELECT phone FROM customers`); err != nil {
		t.Fatal(err)
	}
	addrs = append(addrs, "+447700900555", "+447700900999", "+18005551212", "+15005550006", "+12349013030")
	out := map[string]string{}
	for _, a := range addrs {
		if h, err := b.st.AddressHash(context.Background(), "email", a); err == nil {
			out[h] = strings.ToLower(strings.TrimSpace(a))
		}
	}
	return out
}

// state renders every suppression and every customer's consents, so a test
// can assert exactly what a request changed (or that it changed nothing).
func (b *bundle) state(t *testing.T) string {
	t.Helper()
	var out strings.Builder
	named := b.addressNames(t)
	rows, err := b.st.DB.Query(`SELECT channel, address, reason, COALESCE(customer_id, 0) FROM suppressions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var ch, addr, reason string
		var id int64
		if err := rows.Scan(&ch, &addr, &reason, &id); err != nil {
			t.Fatal(err)
		}
		if a, ok := named[addr]; ok {
			addr = a
		}
		lines = append(lines, fmt.Sprintf("suppressed %s %s %s %d\n", ch, addr, reason, id))
	}
	sort.Strings(lines)
	out.WriteString(strings.Join(lines, ""))
	var consents []struct {
		ID    int64 `db:"id"`
		Email bool  `db:"email_consent"`
		SMS   bool  `db:"sms_consent"`
	}
	if err := b.st.DB.Select(&consents, `SELECT id, email_consent, sms_consent FROM customers ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	for _, c := range consents {
		fmt.Fprintf(&out, "customer %d email=%v sms=%v\n", c.ID, c.Email, c.SMS)
	}
	return out.String()
}

func (b *bundle) do(t *testing.T, method, path, contentType string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	return resp, string(text)
}

func oneClickMultipart(t *testing.T) (string, io.Reader) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("List-Unsubscribe", "One-Click"); err != nil {
		t.Fatal(err)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, nil)
			ann := b.customer(t, "ann", "Ann@Example.com", "+33612345678", true)
			bob := b.customer(t, "bob", "bob@example.com", "+33687654321", true)
			annLink := "/u/" + b.signer.Sign(unsubscribe.Subject{DeliveryID: 11, CustomerID: ann, Channel: "email", Campaign: "spring"})
			bobLink := "/u/" + b.signer.Sign(unsubscribe.Subject{DeliveryID: 12, CustomerID: bob, Channel: "email", Campaign: "spring"})
			before := b.state(t)

			// A GET (a mail scanner, a preview, a click) only shows the form.
			for range 2 {
				resp, page := b.do(t, http.MethodGet, annLink, "", nil)
				if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<form method="post"`) ||
					!strings.Contains(page, `name="List-Unsubscribe" value="One-Click"`) {
					t.Fatalf("GET = %d, page:\n%s", resp.StatusCode, page)
				}
			}
			if after := b.state(t); after != before {
				t.Fatalf("GET changed the database:\nbefore:\n%safter:\n%s", before, after)
			}

			// RFC 8058 POSTs, in both encodings, with no cookie.
			ct, body := oneClickMultipart(t)
			cases := []struct {
				link, ct string
				body     io.Reader
			}{
				{annLink, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click")},
				{bobLink, ct, body},
				{annLink, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click")}, // repeat
			}
			for _, c := range cases {
				resp, page := b.do(t, http.MethodPost, c.link, c.ct, c.body)
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" ||
					resp.Header.Get("Set-Cookie") != "" || !strings.Contains(page, "You are unsubscribed") {
					t.Fatalf("POST %s = %d Location=%q Set-Cookie=%q page:\n%s", c.ct, resp.StatusCode,
						resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"), page)
				}
			}
			want := fmt.Sprintf("suppressed email ann@example.com unsubscribe %d\n"+
				"suppressed email bob@example.com unsubscribe %d\n"+
				"customer %d email=false sms=true\ncustomer %d email=false sms=true\n", ann, bob, ann, bob)
			if got := b.state(t); got != want {
				t.Fatalf("after POSTs:\n%swant:\n%s", got, want)
			}
		})
	}
}

func TestOneClickSMSLinkAndGoneCustomer(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite, nil)
	ann := b.customer(t, "ann", "ann@example.com", "+33612345678", true)
	link := "/u/" + b.signer.Sign(unsubscribe.Subject{DeliveryID: 1, CustomerID: ann, Channel: "sms", Campaign: "flash"})
	if resp, page := b.do(t, http.MethodPost, link, "", nil); resp.StatusCode != http.StatusOK ||
		!strings.Contains(page, "text messages") {
		t.Fatalf("POST sms link = %d:\n%s", resp.StatusCode, page)
	}
	want := fmt.Sprintf("suppressed sms +33612345678 unsubscribe %d\ncustomer %d email=true sms=false\n", ann, ann)
	if got := b.state(t); got != want {
		t.Fatalf("state:\n%swant:\n%s", got, want)
	}
	// A link for a customer deleted since: nothing to send to, nothing to do.
	gone := "/u/" + b.signer.Sign(unsubscribe.Subject{DeliveryID: 2, CustomerID: 9999, Channel: "email", Campaign: "flash"})
	if resp, _ := b.do(t, http.MethodPost, gone, "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST for a deleted customer = %d, want 200", resp.StatusCode)
	}
	if got := b.state(t); got != want {
		t.Fatalf("deleted customer's link changed state:\n%s", got)
	}
}

func TestInvalidLink(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite, nil)
	ann := b.customer(t, "ann", "ann@example.com", "", true)
	good := b.signer.Sign(unsubscribe.Subject{DeliveryID: 1, CustomerID: ann, Channel: "email", Campaign: "c"})
	before := b.state(t)
	for _, tok := range []string{
		good[:len(good)-2] + "AA",
		"garbage",
		(unsubscribe.Signer{Key: []byte("a-different-key-entirely")}).Sign(unsubscribe.Subject{CustomerID: ann, Channel: "email"}),
		b.signer.Sign(unsubscribe.Subject{CustomerID: ann, Channel: "fax"}), // signed, unknown channel
	} {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			resp, page := b.do(t, m, "/u/"+tok, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not valid") {
				t.Fatalf("%s %s = %d, want 400 with a clear page:\n%s", m, tok, resp.StatusCode, page)
			}
		}
	}
	if after := b.state(t); after != before {
		t.Fatalf("invalid links changed the database:\n%s", after)
	}
}

func TestHandlerOptionsChecked(t *testing.T) {
	t.Parallel()
	if _, err := unsubscribe.Handler(unsubscribe.Options{Signer: unsubscribe.Signer{Key: testKey}}); err == nil {
		t.Fatal("Handler without a store succeeded")
	}
	st := storetest.Open(t, store.SQLite)
	if _, err := unsubscribe.Handler(unsubscribe.Options{Store: st, Signer: unsubscribe.Signer{Key: []byte("short")}}); err == nil {
		t.Fatal("Handler with a 5-byte key succeeded")
	}
}
