package imports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/customer"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/typo"
)

// FieldError is one field of a profile refused: its JSON path ("email",
// "customers[3].consents.sms.source") and what is wrong with what to send
// instead.
type FieldError struct {
	Field string `json:"field"`
	Error string `json:"error"`
}

// FieldErrors are every field of a profile refused.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, f := range fe {
		parts[i] = f.Field + ": " + f.Error
	}
	return strings.Join(parts, "; ")
}

// Profile keys beside the registry's import columns: the JSON form of a
// profile sends tags as an array, custom attributes in an object (a CSV's
// extra columns) and consents with their source.
const (
	keyAttributes = "attributes"
	keyConsents   = "consents"
)

// profileKeys are the keys a JSON profile may hold: the registry's import
// columns (consents replaced by the consents object) and attributes.
var profileKeys = func() []string {
	var keys []string
	for _, c := range customer.ImportColumns() {
		if c != "email_consent" && c != "sms_consent" {
			keys = append(keys, c)
		}
	}
	return append(keys, keyAttributes, keyConsents)
}()

// consentSource is what a consent's source may be: a short slug, as it is
// a label of the consent metrics.
var consentSource = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// Profile validates one customer profile sent as JSON (PUT
// /v1/customers/{external_id}) with the CSV import's rules, collecting an
// error for every bad field: prefix starts their paths ("customers[3].").
// externalID is the id the URL names, or "" when the body carries it (a
// batch item). A field left out leaves the stored value; "" or null clears
// a text field, [] the tags, and an attribute set to null is removed.
func Profile(body []byte, externalID, prefix string) (store.CustomerInput, error) {
	var in store.CustomerInput
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return in, FieldErrors{{Field: strings.TrimSuffix(prefix, "."), Error: "must be a JSON object of the customer's fields, e.g. {\"email\": \"ada@example.com\", \"tags\": [\"vip\"]}"}}
	}
	var errs FieldErrors
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: prefix + field, Error: fmt.Sprintf(format, args...)})
	}
	for _, k := range sortedKeys(obj) {
		raw := obj[k]
		switch {
		case k == keyAttributes:
			attrs, err := profileAttributes(raw)
			if err != nil {
				bad(k, "%v", err)
			}
			in.Attributes = attrs
		case k == keyConsents:
			for _, fe := range profileConsents(raw, &in) {
				bad(k+"."+fe.Field, "%s", fe.Error)
			}
		case k == "tags":
			tags, err := profileTags(raw)
			if err != nil {
				bad(k, "%v", err)
			}
			in.Tags = tags
		case k == "external_id" && externalID != "":
			var v string
			if json.Unmarshal(raw, &v) != nil || v != externalID {
				bad(k, "is %s but the URL names %q; leave it out of the body or make them equal", raw, externalID)
			}
		case contains(profileKeys, k):
			if err := profileText(&in, k, raw); err != nil {
				bad(k, "%v", err)
			}
		default:
			bad(k, "%s", unknownKey(k))
		}
	}
	if externalID != "" {
		in.ExternalID = externalID
		if err := checkText(externalID, maxIDBytes); err != nil {
			bad("external_id", "the id in the URL: %v", err)
		}
	}
	if in.ExternalID == "" && !hasField(errs, prefix+"external_id") {
		bad("external_id", "is required: the shop's own id of the customer")
	}
	if len(errs) > 0 {
		return in, errs
	}
	return in, nil
}

// profileText sets one text field through the CSV import's parser; "" and
// null clear it.
func profileText(in *store.CustomerInput, key string, raw json.RawMessage) error {
	var v *string
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("must be a string (or null to clear it), not %s", excerpt(string(raw)))
	}
	s := ""
	if v != nil {
		s = strings.TrimSpace(*v)
	}
	max := maxCellBytes
	if key == "external_id" {
		max = maxIDBytes
	}
	if err := checkText(s, max); err != nil {
		return err
	}
	if s != "" {
		return setCustomerField(in, key, s)
	}
	empty := ""
	switch key {
	case "external_id":
		return fmt.Errorf("is empty; every customer needs the shop's own id")
	case "birthday":
		in.Birthday = &time.Time{}
	default:
		clearText(in, key, &empty)
	}
	return nil
}

// clearText points the text field key at empty.
func clearText(in *store.CustomerInput, key string, empty *string) {
	switch key {
	case "email":
		in.Email = empty
	case "phone":
		in.Phone = empty
	case "first_name":
		in.FirstName = empty
	case "last_name":
		in.LastName = empty
	case "locale":
		in.Locale = empty
	case "time_zone":
		in.TimeZone = empty
	}
}

func profileTags(raw json.RawMessage) ([]string, error) {
	var tags []string
	if err := json.Unmarshal(raw, &tags); err != nil {
		return nil, fmt.Errorf("must be an array of strings, e.g. [\"vip\", \"newsletter\"]")
	}
	for _, t := range tags {
		if err := checkText(t, maxIDBytes); err != nil {
			return nil, fmt.Errorf("tag %q: %w", excerpt(t), err)
		}
		if strings.Contains(t, ";") {
			return nil, fmt.Errorf("tag %q contains ';', which separates tags in CSV files; remove it", excerpt(t))
		}
	}
	return parseTags(strings.Join(tags, ";")), nil
}

// profileAttributes reads the custom attributes: an object whose keys are
// non-empty text; a null value removes the key.
func profileAttributes(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var attrs map[string]any
	if err := dec.Decode(&attrs); err != nil || attrs == nil {
		return nil, fmt.Errorf("must be an object of custom attributes, e.g. {\"tier\": \"gold\", \"points\": 120}")
	}
	for k, v := range attrs {
		if k == "" || checkText(k, maxIDBytes) != nil {
			return nil, fmt.Errorf("attribute name %q is empty or not text; name each attribute (at most %d bytes)", excerpt(k), maxIDBytes)
		}
		if err := checkValue(v); err != nil {
			return nil, fmt.Errorf("attribute %q: %w", excerpt(k), err)
		}
	}
	return attrs, nil
}

// checkValue refuses text the database must never see anywhere in a value.
func checkValue(v any) error {
	switch v := v.(type) {
	case string:
		return checkText(v, maxCellBytes)
	case map[string]any:
		for k, x := range v {
			if err := checkText(k, maxIDBytes); err != nil {
				return err
			}
			if err := checkValue(x); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range v {
			if err := checkValue(x); err != nil {
				return err
			}
		}
	}
	return nil
}

// profileConsents reads {"email": {"granted": true, "source": "checkout"}}
// into the input; the errors' fields are relative to the consents object.
func profileConsents(raw json.RawMessage, in *store.CustomerInput) []FieldError {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return []FieldError{{Error: `must be an object by channel, e.g. {"email": {"granted": true, "source": "checkout-form"}}`}}
	}
	var errs []FieldError
	for _, ch := range sortedKeys(obj) {
		var c struct {
			Granted *bool   `json:"granted"`
			Source  *string `json:"source"`
		}
		dec := json.NewDecoder(bytes.NewReader(obj[ch]))
		dec.DisallowUnknownFields()
		switch {
		case ch != string(channels.Email) && ch != string(channels.SMS):
			errs = append(errs, FieldError{Field: ch, Error: "is not a channel; write email or sms"})
			continue
		case dec.Decode(&c) != nil || c.Granted == nil:
			errs = append(errs, FieldError{Field: ch, Error: `must be {"granted": true or false, "source": "where the customer said so"}`})
			continue
		}
		src := ""
		if c.Source != nil {
			src = *c.Source
			if !consentSource.MatchString(src) {
				errs = append(errs, FieldError{Field: ch + ".source", Error: fmt.Sprintf("%q is not a source name; "+
					"write 1 to 64 lowercase letters, digits, '-', '_' or '.', e.g. checkout-form", excerpt(src))})
				continue
			}
		}
		if ch == string(channels.Email) {
			in.EmailConsent, in.EmailConsentSource = c.Granted, src
		} else {
			in.SMSConsent, in.SMSConsentSource = c.Granted, src
		}
	}
	return errs
}

// unknownKey says what to write instead of a key a profile has no use for.
func unknownKey(k string) string {
	best, bestD := "", 3
	for _, known := range profileKeys {
		if d := typo.Distance(k, known); d < bestD {
			best, bestD = known, d
		}
	}
	switch {
	case k == "email_consent" || k == "sms_consent":
		return `is not a profile field here; send consents as {"consents": {"email": {"granted": true, "source": "checkout-form"}}}`
	case best != "":
		return fmt.Sprintf("is not a profile field; did you mean %q?", best)
	}
	return fmt.Sprintf("is not a profile field (%s); put custom data in \"attributes\"", strings.Join(profileKeys, ", "))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasField(errs FieldErrors, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}
