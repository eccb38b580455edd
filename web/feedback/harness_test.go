package feedback_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/feedback"
)

// bundle is one test's database and receivers.
type bundle struct {
	st      *store.Store
	handler http.Handler
	routes  []string
}

// setup opens a database of dialect and the receivers of opts (Store and a
// fixed clock filled in).
func setup(t *testing.T, dialect store.Dialect, opts feedback.Options, now time.Time) *bundle {
	t.Helper()
	st := storetest.Open(t, dialect)
	opts.Store = st
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts.Now = func() time.Time { return now }
	h, routes, err := feedback.Handler(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{st: st, handler: h, routes: routes}
}

// sent writes a customer with email (and phone) and a sent row of campaign
// to them whose provider id is providerID, and returns the row's id.
func (b *bundle) sent(t *testing.T, campaign, ext, email, phone string, channel channels.Name, providerID string) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := b.st.DB.Exec(b.st.DB.Rebind(`INSERT INTO customers (external_id, email, phone, email_consent, sms_consent)
		VALUES (?, ?, ?, ?, ?)`), ext, email, phone, true, true); err != nil {
		t.Fatal(err)
	}
	c, err := b.st.CustomerByExternalID(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := b.st.InsertDeliveries(ctx, []store.NewDelivery{{CampaignID: campaign, CustomerID: c.ID, Occurrence: "o",
		Channel: channel, Status: store.StatusSent}}, time.Now())
	if err != nil || len(ins) != 1 {
		t.Fatalf("insert delivery: %v", err)
	}
	if providerID == "" {
		providerID = "tidings." + itoa(ins[0].ID) + "@shop.example"
	}
	if _, err := b.st.DB.Exec(b.st.DB.Rebind(`UPDATE deliveries SET provider_id = ?, sent_at = ? WHERE id = ?`),
		providerID, time.Now().UTC(), ins[0].ID); err != nil {
		t.Fatal(err)
	}
	return ins[0].ID
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// post sends body to path with headers and returns the status and body.
func (b *bundle) post(t *testing.T, path string, body []byte, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://tidings.test"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// feedbackOf returns the feedback column of a delivery row.
func (b *bundle) feedbackOf(t *testing.T, id int64) string {
	t.Helper()
	var fb string
	if err := b.st.DB.Get(&fb, b.st.DB.Rebind(`SELECT feedback FROM deliveries WHERE id = ?`), id); err != nil {
		t.Fatal(err)
	}
	return fb
}

// count runs a count query.
func (b *bundle) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := b.st.DB.Get(&n, b.st.DB.Rebind(q), args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// suppressed returns the reason address is suppressed for ("" when not).
func (b *bundle) suppressed(t *testing.T, channel channels.Name, address string) store.SuppressionReason {
	t.Helper()
	sup, err := b.st.SuppressionFor(context.Background(), channel, address)
	if err != nil {
		return ""
	}
	return sup.Reason
}

// fixture reads a testdata file with its placeholders replaced (old, new
// pairs).
func fixture(t *testing.T, name string, replace ...string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(replace...).Replace(string(raw)))
}
