package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// insertConsentCustomer writes one customer with both consents given and
// returns its id.
func insertConsentCustomer(t *testing.T, st *store.Store, ext, email, phone string) int64 {
	t.Helper()
	_, err := st.DB.Exec(st.DB.Rebind(`INSERT INTO customers (external_id, email, phone, email_consent, sms_consent)
		VALUES (?, ?, ?, ?, ?)`), ext, email, phone, true, true)
	if err != nil {
		t.Fatalf("insert customer %s: %v", ext, err)
	}
	c, err := st.CustomerByExternalID(context.Background(), ext)
	if err != nil {
		t.Fatalf("read customer %s: %v", ext, err)
	}
	return c.ID
}

func TestSuppressions(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			id := insertConsentCustomer(t, st, "c1", "Ann@Example.com", "+33612345678")

			if sup, err := st.IsSuppressed(ctx, "email", "ann@example.com"); err != nil || sup {
				t.Fatalf("IsSuppressed before = %v, %v; want false", sup, err)
			}
			// Idempotent, normalised: the second call with another spelling
			// and reason changes nothing but fills the customer id.
			if err := st.Suppress(ctx, "email", "  ANN@example.COM ", store.SuppressUnsubscribe, 0); err != nil {
				t.Fatal(err)
			}
			if err := st.Suppress(ctx, "email", "ann@example.com", store.SuppressComplaint, id); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := st.DB.Get(&n, `SELECT count(*) FROM suppressions`); err != nil || n != 1 {
				t.Fatalf("suppression rows = %d, %v; want 1", n, err)
			}
			got, err := st.SuppressionFor(ctx, "email", "Ann@Example.com")
			if err != nil {
				t.Fatal(err)
			}
			hash, err := st.AddressHash(ctx, "email", "ann@example.com")
			if err != nil {
				t.Fatal(err)
			}
			want := store.Suppression{Channel: "email", AddressHash: hash, Reason: "unsubscribe", CustomerID: id,
				CreatedAt: got.CreatedAt}
			if *got != want || got.CreatedAt.IsZero() {
				t.Fatalf("suppression = %+v, want %+v", *got, want)
			}
			// Only the keyed hash is stored.
			if dump := storetest.Dump(t, st, "suppressions"); strings.Contains(strings.ToLower(dump), "ann@") {
				t.Fatalf("the address is stored in clear:\n%s", dump)
			}
			if sup, err := st.IsSuppressed(ctx, "email", "ANN@EXAMPLE.COM"); err != nil || !sup {
				t.Fatalf("IsSuppressed after = %v, %v; want true", sup, err)
			}
			// The same address on the other channel is independent.
			if sup, _ := st.IsSuppressed(ctx, "sms", "ann@example.com"); sup {
				t.Fatal("email suppression leaked to sms")
			}
			if set, err := st.SuppressedSet(ctx, "email", []string{"ann@example.com", "bob@example.com"}); err != nil ||
				!set["ann@example.com"] || set["bob@example.com"] {
				t.Fatalf("SuppressedSet = %v, %v", set, err)
			}

			if err := st.Suppress(ctx, "sms", "+33612345678", store.SuppressStop, id); err != nil {
				t.Fatal(err)
			}
			was, err := st.Unsuppress(ctx, "sms", " +33612345678")
			if err != nil || !was {
				t.Fatalf("Unsuppress = %v, %v; want true", was, err)
			}
			if was, err = st.Unsuppress(ctx, "sms", "+33612345678"); err != nil || was {
				t.Fatalf("second Unsuppress = %v, %v; want false", was, err)
			}
			if sup, _ := st.IsSuppressed(ctx, "sms", "+33612345678"); sup {
				t.Fatal("number still suppressed after Unsuppress")
			}
			if _, err := st.SuppressionFor(ctx, "sms", "+33612345678"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("SuppressionFor after Unsuppress: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestSuppressRejectsBadInput(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	if err := st.Suppress(ctx, "fax", "x", store.SuppressManual, 0); err == nil {
		t.Fatal("unknown channel accepted")
	}
	if err := st.Suppress(ctx, "email", "  ", store.SuppressManual, 0); err == nil {
		t.Fatal("empty address accepted")
	}
	if err := st.Suppress(ctx, "email", "a@b.c", "because", 0); err == nil {
		t.Fatal("unknown reason accepted (the CHECK constraint should refuse it)")
	}
}

func TestSetConsentAndCustomersByPhone(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			a := insertConsentCustomer(t, st, "a", "a@example.com", "+14155550100")
			b := insertConsentCustomer(t, st, "b", "b@example.com", "+14155550100")
			insertConsentCustomer(t, st, "c", "c@example.com", "+14155550199")

			got, err := st.CustomersByPhone(ctx, "+14155550100")
			if err != nil || len(got) != 2 || got[0].ID != a || got[1].ID != b {
				t.Fatalf("CustomersByPhone = %v, %v; want customers %d and %d", got, err, a, b)
			}
			if got, err := st.CustomersByPhone(ctx, "+10000000000"); err != nil || len(got) != 0 {
				t.Fatalf("CustomersByPhone(unknown) = %v, %v; want none", got, err)
			}

			if err := st.SetConsent(ctx, a, "sms", false, store.ConsentAdmin); err != nil {
				t.Fatal(err)
			}
			if err := st.SetConsent(ctx, b, "email", false, store.ConsentAdmin); err != nil {
				t.Fatal(err)
			}
			ca, _ := st.CustomerByID(ctx, a)
			cb, _ := st.CustomerByID(ctx, b)
			if ca.SMSConsent || !ca.EmailConsent || cb.EmailConsent || !cb.SMSConsent {
				t.Fatalf("consents a=(email %v, sms %v) b=(email %v, sms %v); want a sms off, b email off",
					ca.EmailConsent, ca.SMSConsent, cb.EmailConsent, cb.SMSConsent)
			}
			if err := st.SetConsent(ctx, a, "sms", true, store.ConsentAdmin); err != nil {
				t.Fatal(err)
			}
			if ca, _ = st.CustomerByID(ctx, a); !ca.SMSConsent {
				t.Fatal("sms consent not restored")
			}
			if err := st.SetConsent(ctx, 999999, "sms", true, store.ConsentAdmin); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("SetConsent(missing) = %v, want ErrNotFound", err)
			}
			if err := st.SetConsent(ctx, a, "push", true, store.ConsentAdmin); err == nil {
				t.Fatal("unknown channel accepted")
			}
		})
	}
}
