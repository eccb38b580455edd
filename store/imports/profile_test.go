package imports

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestProfileErrorsNameEachField: a JSON profile is checked with the CSV
// import's rules and every bad field is named with what to send instead.
func TestProfileErrorsNameEachField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, ext string
		want            map[string]string // field -> a part of its error
	}{
		{"bad values", `{"email": "ada@", "phone": "06 12", "time_zone": "Mars/Base", "birthday": "02/03/1990",
			"tags": "vip", "consents": {"email": {"granted": "yes"}, "fax": {"granted": true}, "sms": {"granted": true, "source": "Check Out!"}}}`, "c1",
			map[string]string{"email": "name@example.com", "phone": "+33612345678", "time_zone": "IANA",
				"birthday": "YYYY-MM-DD", "tags": "array of strings", "consents.email": `"granted": true or false`,
				"consents.fax": "email or sms", "consents.sms.source": "checkout-form"}},
		{"unknown keys", `{"emial": "a@b.co", "email_consent": true, "loyalty": 3}`, "c1",
			map[string]string{"emial": `did you mean "email"`, "email_consent": `"consents"`, "loyalty": `"attributes"`}},
		{"ids", `{"external_id": "other"}`, "c1", map[string]string{"external_id": `the URL names "c1"`}},
		{"batch item without id", `{"first_name": "Ada"}`, "", map[string]string{"external_id": "is required"}},
		{"not an object", `[1]`, "c1", map[string]string{"": "JSON object"}},
		{"NUL in an attribute", `{"attributes": {"note": "a\u0000b"}}`, "c1", map[string]string{"attributes": "NUL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Profile([]byte(tc.body), tc.ext, "")
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Profile(%s) = %v, want field errors", tc.body, err)
			}
			got := map[string]string{}
			for _, f := range fe {
				got[f.Field] = f.Error
			}
			for field, part := range tc.want {
				if !strings.Contains(got[field], part) {
					t.Errorf("field %q: error %q, want it to say %q (all: %v)", field, got[field], part, fe)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("errors %v, want exactly the fields %v", fe, tc.want)
			}
		})
	}
}

// TestProfileReadsEveryField: a valid profile becomes the input the import
// would write; "" clears a text field, a batch item's paths carry its index.
func TestProfileReadsEveryField(t *testing.T) {
	t.Parallel()
	in, err := Profile([]byte(`{"email": "Ada@Example.com", "phone": "+33 6 12 34 56 78", "first_name": "Ada",
		"last_name": "", "locale": "fr-FR", "time_zone": "Europe/Paris", "birthday": "1990-03-02",
		"tags": ["vip", "VIP", "news"], "attributes": {"tier": "gold", "old": null},
		"consents": {"email": {"granted": true, "source": "checkout-form"}, "sms": {"granted": false}}}`), "c1", "")
	if err != nil {
		t.Fatal(err)
	}
	if in.ExternalID != "c1" || *in.Email != "ada@example.com" || *in.Phone != "+33612345678" || *in.LastName != "" ||
		in.Birthday.Format("2006-01-02") != "1990-03-02" || !slices.Equal(in.Tags, []string{"vip", "news"}) ||
		in.Attributes["tier"] != "gold" || in.Attributes["old"] != nil || len(in.Attributes) != 2 ||
		!*in.EmailConsent || in.EmailConsentSource != "checkout-form" || *in.SMSConsent || in.SMSConsentSource != "" {
		t.Fatalf("input %+v", in)
	}
	_, err = Profile([]byte(`{"external_id": "c9", "email": "x"}`), "", "customers[3].")
	var fe FieldErrors
	if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != "customers[3].email" {
		t.Fatalf("batch item error %v, want customers[3].email", err)
	}
}
