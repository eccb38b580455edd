package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestUpsertProfiles: profiles written by API say what happened to each
// input, record each consent change with the source the input names (or
// "api"), change nothing when repeated, and an address whose person was
// erased (a keyed-hash suppression) is created without marketing consent.
func TestUpsertProfiles(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			if err := st.Suppress(ctx, channels.Email, "gone@example.com", store.SuppressErased, 0); err != nil {
				t.Fatal(err)
			}
			yes, no := true, false
			str := func(s string) *string { return &s }
			in := []store.CustomerInput{
				{ExternalID: "p1", Email: str("ada@example.com"), EmailConsent: &yes, EmailConsentSource: "checkout-form",
					SMSConsent: &no, Tags: []string{"vip"}, Attributes: map[string]any{"tier": "gold"}},
				{ExternalID: "p2", Email: str("gone@example.com"), EmailConsent: &yes, EmailConsentSource: "signup"},
				{ExternalID: "p3", Phone: str("+33612345678"), SMSConsent: &yes},
			}
			got, refused, err := st.UpsertProfiles(ctx, in, store.ConsentAPI)
			if err != nil || len(refused) > 0 {
				t.Fatalf("UpsertProfiles: %v %v", err, refused)
			}
			want := []store.UpsertOutcome{store.OutcomeCreated, store.OutcomeCreated, store.OutcomeCreated}
			if !slices.Equal(got, want) {
				t.Fatalf("outcomes %v, want %v", got, want)
			}
			history := func(ext string) []store.ConsentChange {
				t.Helper()
				c, err := st.CustomerByExternalID(ctx, ext)
				if err != nil {
					t.Fatal(err)
				}
				p, err := st.Profile(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				return p.ConsentHistory
			}
			if h := history("p1"); len(h) != 1 || h[0].Source != "checkout-form" || !h[0].Granted || h[0].Channel != channels.Email {
				t.Errorf("p1's consent history %+v, want one email grant from checkout-form", h)
			}
			if h := history("p2"); len(h) != 0 {
				t.Errorf("p2 (an erased address) got consent: %+v", h)
			}
			if c, _ := st.CustomerByExternalID(ctx, "p2"); c.EmailConsent {
				t.Errorf("p2, an erased address, was created with email consent")
			}
			if h := history("p3"); len(h) != 1 || h[0].Source != store.ConsentAPI || h[0].Channel != channels.SMS {
				t.Errorf("p3's consent history %+v, want one sms grant from api", h)
			}

			// The same again changes nothing; a withdrawal is recorded with its source.
			again, _, err := st.UpsertProfiles(ctx, in, store.ConsentAPI)
			if err != nil || !slices.Equal(again, []store.UpsertOutcome{store.OutcomeUnchanged, store.OutcomeUnchanged, store.OutcomeUnchanged}) {
				t.Fatalf("repeat: %v %v, want all unchanged", again, err)
			}
			got, _, err = st.UpsertProfiles(ctx, []store.CustomerInput{{ExternalID: "p1", EmailConsent: &no, EmailConsentSource: "preference-centre"}}, store.ConsentAPI)
			if err != nil || got[0] != store.OutcomeUpdated {
				t.Fatalf("withdrawal: %v %v", got, err)
			}
			if h := history("p1"); len(h) != 2 || h[1].Source != "preference-centre" || h[1].Granted {
				t.Errorf("p1's history after the withdrawal %+v", h)
			}
			p, err := st.CustomerByExternalID(ctx, "p1")
			if err != nil || p.Email != "ada@example.com" || !slices.Equal(p.Tags, []string{"vip"}) {
				t.Errorf("p1 after a consent-only write: %+v %v (fields not sent must be kept)", p, err)
			}
		})
	}
}
