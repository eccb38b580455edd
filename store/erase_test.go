package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/imports"
	"github.com/tidings-crm/tidings/store/storetest"
)

// The person erased in these tests: each value must be gone from the whole
// database after the erasure, and from the SQLite file.
var (
	annEmail = "Ann.Secret@Example.com"
	annPhone = "+13055550123"
	annNames = []string{"Annabel", "Zzyzxqvist"}
)

func annSecrets() []string {
	return append([]string{strings.ToLower(annEmail), annPhone, strings.TrimPrefix(annPhone, "+1")}, annNames...)
}

// seedAnn stores Ann through every path that keeps personal data: a CSV
// import, a webhook event with her profile and a purchase with items, and a
// ledger row whose error text quotes her address. Bob is there too and
// must keep everything.
func seedAnn(t *testing.T, st *store.Store) (ann, bob int64) {
	t.Helper()
	ctx := context.Background()
	csv := "external_id,email,phone,first_name,last_name,email_consent,sms_consent,tags\n" +
		"ann-1," + annEmail + "," + annPhone + "," + annNames[0] + "," + annNames[1] + ",true,true,vip\n" +
		"bob-1,bob@example.com,+33612345678,Bob,Builder,true,true,\n"
	if sum, err := imports.Customers(ctx, st, strings.NewReader(csv), imports.Options{}); err != nil || sum.Inserted != 2 {
		t.Fatalf("import: %+v, %v", sum, err)
	}
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	first := annNames[0]
	ev := inboxEvent("evt-ann", "ann-1", "order-ann", 4200, at)
	ev.Payload = []byte(`{"event_id":"evt-ann","customer":{"external_id":"ann-1","email":"` + annEmail +
		`","first_name":"` + annNames[0] + `"},"order_id":"order-ann","amount":"42.00"}`)
	ev.Customer = &store.CustomerInput{FirstName: &first}
	ev.Purchase.Items = json.RawMessage(`[{"name":"Engraved mug: to ` + annNames[0] + ` ` + annNames[1] + `","quantity":1}]`)
	bobEv := inboxEvent("evt-bob", "bob-1", "order-bob", 1000, at)
	bobEv.Payload = []byte(`{"event_id":"evt-bob","customer":{"external_id":"bob-1","email":"bob@example.com"}}`)
	// An event of /v1/events whose properties quote her: in the inbox and
	// in the events log.
	note := `{"gift_note":"for ` + annNames[0] + ` ` + annNames[1] + `"}`
	cart := store.InboxEvent{EventID: "evt-ann-cart", EventType: "cart_updated", ReceivedAt: at, ExternalID: "ann-1",
		Payload: []byte(`{"id":"evt-ann-cart","type":"cart_updated","customer":"ann-1","properties":` + note + `}`),
		Event:   &store.EventInput{Type: "cart_updated", OccurredAt: at, Properties: []byte(note)}}
	if _, err := st.AcceptEvents(ctx, []store.InboxEvent{ev, bobEv, cart}); err != nil {
		t.Fatal(err)
	}
	a, err := st.CustomerByExternalID(ctx, "ann-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.CustomerByExternalID(ctx, "bob-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []struct {
		id          int64
		status, err string
	}{{a.ID, "failed", "550 5.1.1 <" + annEmail + ">: mailbox full"}, {a.ID, "pending", ""}, {b.ID, "sent", ""}} {
		_, err := st.DB.Exec(st.DB.Rebind(`INSERT INTO deliveries (campaign_id, customer_id, occurrence, channel, status,
			error, sent_at, created_at, period) VALUES (?, ?, ?, 'email', ?, ?, ?, ?, '1970-01-01')`), "promo", row.id, row.status+"-occ", row.status,
			row.err, at.Add(-time.Hour), at.Add(-2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
	}
	return a.ID, b.ID
}

func TestEraseCustomer(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, url := storetest.OpenURL(t, d)
			ann, bob := seedAnn(t, st)
			before, err := st.CampaignOutcomes(ctx, "promo", 7*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if dump := strings.ToLower(storetest.DumpAll(t, st)); !strings.Contains(dump, strings.ToLower(annEmail)) {
				t.Fatal("the dump does not show Ann before the erasure: it proves nothing after")
			}

			er, err := st.EraseCustomer(ctx, ann)
			if err != nil {
				t.Fatal(err)
			}
			if er.Cancelled != 1 || er.Suppressed != 2 || er.InboxEvents != 2 || len(er.DeliveryIDs) != 2 {
				t.Fatalf("erasure = %+v; want 1 cancelled, 2 suppressed, 2 inbox events, 2 deliveries", er)
			}
			dump := strings.ToLower(storetest.DumpAll(t, st))
			var file []byte
			if d == store.SQLite {
				file = bytes.ToLower(storetest.SQLiteFiles(t, url))
			}
			for _, secret := range annSecrets() {
				s := strings.ToLower(secret)
				if strings.Contains(dump, s) {
					t.Errorf("%q is still in the database after the erasure", secret)
				}
				if file != nil && bytes.Contains(file, []byte(s)) {
					t.Errorf("%q is still in the SQLite file or its WAL after the erasure", secret)
				}
			}
			if !strings.Contains(dump, "bob@example.com") || !strings.Contains(dump, "evt-ann") {
				t.Error("the erasure took more than Ann's personal data (Bob's email or the event id is gone)")
			}
			after, err := st.CampaignOutcomes(ctx, "promo", 7*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before.Arms, after.Arms) {
				t.Errorf("the report changed:\nbefore %+v\nafter  %+v", before.Arms, after.Arms)
			}
			again, err := st.EraseCustomer(ctx, ann)
			if err != nil || !again.Already {
				t.Fatalf("second erasure = %+v, %v; want Already", again, err)
			}

			exp, err := st.ExportCustomer(ctx, ann)
			if err != nil {
				t.Fatal(err)
			}
			if exp.ErasedAt == nil || exp.Profile["email"] != "" || len(exp.Suppressions) != 2 {
				t.Errorf("export of the erased customer = %+v", exp)
			}
			assertSources(t, exp.ConsentHistory, "import+email", "import+sms", "erasure-email", "erasure-sms")
			bobExp, err := st.ExportCustomer(ctx, bob)
			if err != nil {
				t.Fatal(err)
			}
			if bobExp.Profile["email"] != "bob@example.com" || len(bobExp.Purchases) != 1 || len(bobExp.Deliveries) != 1 {
				t.Errorf("Bob's export = %+v", bobExp)
			}
			reimportGetsNoConsent(t, st)
		})
	}
}

// reimportGetsNoConsent brings Ann back by CSV and by webhook, both saying
// she consents: the new customers exist, without consent.
func reimportGetsNoConsent(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	csv := "external_id,email,phone,email_consent,sms_consent\nann-1," + strings.ToUpper(annEmail) + "," + annPhone + ",true,true\n"
	if _, err := imports.Customers(ctx, st, strings.NewReader(csv), imports.Options{}); err != nil {
		t.Fatal(err)
	}
	yes, email := true, annEmail
	ev := inboxEvent("evt-ann-2", "ann-2", "order-ann-2", 100, time.Now())
	ev.Customer = &store.CustomerInput{Email: &email, EmailConsent: &yes, SMSConsent: &yes}
	if _, err := st.AcceptEvents(ctx, []store.InboxEvent{ev}); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"ann-1", "ann-2"} {
		c, err := st.CustomerByExternalID(ctx, ext)
		if err != nil {
			t.Fatal(err)
		}
		if c.EmailConsent || (c.SMSConsent && c.Phone != "") {
			t.Errorf("%s came back with consent (email %v, sms %v); an erased address must not", ext, c.EmailConsent, c.SMSConsent)
		}
	}
}

func assertSources(t *testing.T, got []store.ConsentChange, want ...string) {
	t.Helper()
	var have []string
	for _, c := range got {
		sign := "-"
		if c.Granted {
			sign = "+"
		}
		have = append(have, c.Source+sign+string(c.Channel))
	}
	if strings.Join(have, " ") != strings.Join(want, " ") {
		t.Errorf("consent history = %v, want %v", have, want)
	}
}
