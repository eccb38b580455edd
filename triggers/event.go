package triggers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// PurchaseEvent is a purchase as a shop posts it to /v1/events/purchase, and
// as it is kept in the webhook inbox for the reaction. Amounts are decimal in
// the JSON and fixed-point cents here.
type PurchaseEvent struct {
	EventID     string        `json:"event_id"`
	Type        string        `json:"type,omitempty"` // "purchase" when given
	Customer    EventCustomer `json:"customer"`
	OrderID     string        `json:"order_id"`
	AmountCents int64         `json:"-"`
	Amount      json.Number   `json:"amount"`
	Currency    string        `json:"currency,omitempty"` // ISO 4217; default USD
	Items       []EventItem   `json:"items,omitempty"`
	// Quantity is the number of items bought. It may be given without item
	// lines (a log that only counts units, like CDNOW or the CSV import's
	// quantity column); with item lines it is their quantities' sum.
	Quantity   int       `json:"quantity,omitempty"`
	OccurredAt time.Time `json:"occurred_at"`
}

// EventCustomer identifies the buyer and optionally updates their profile.
// Nil fields leave the stored profile alone.
type EventCustomer struct {
	ExternalID   string  `json:"external_id"`
	Email        *string `json:"email,omitempty"`
	Phone        *string `json:"phone,omitempty"`
	FirstName    *string `json:"first_name,omitempty"`
	LastName     *string `json:"last_name,omitempty"`
	Locale       *string `json:"locale,omitempty"`
	TimeZone     *string `json:"time_zone,omitempty"`
	Birthday     *string `json:"birthday,omitempty"` // YYYY-MM-DD
	EmailConsent *bool   `json:"email_consent,omitempty"`
	SMSConsent   *bool   `json:"sms_consent,omitempty"`
}

// EventItem is one line of a purchase.
type EventItem struct {
	SKU      string  `json:"sku,omitempty"`
	Name     string  `json:"name,omitempty"`
	Category string  `json:"category,omitempty"`
	Quantity int     `json:"quantity"`
	Price    float64 `json:"price"`
}

// FieldError is a client mistake in an event, naming the field (a JSON path
// such as "customer.email" or "events[3].amount").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Limits on event values: generous for real shops, bounded for the database.
const (
	maxText       = 500
	maxItems      = 1000
	maxAmountCent = int64(1e15)
)

var (
	topFields      = []string{"event_id", "type", "customer", "order_id", "amount", "currency", "items", "quantity", "occurred_at"}
	customerFields = []string{"external_id", "email", "phone", "first_name", "last_name", "locale", "time_zone",
		"birthday", "email_consent", "sms_consent"}
	itemFields = []string{"sku", "name", "category", "quantity", "price"}
)

// ParsePurchase decodes and validates one event object strictly: unknown
// top-level and item fields, wrong types and missing fields are errors
// naming the field (*FieldError); unknown customer fields are ignored and
// reported as warnings. prefix is prepended to field names ("events[2].").
func ParsePurchase(raw []byte, prefix string) (*PurchaseEvent, []string, error) {
	obj, err := object(raw, strings.TrimSuffix(prefix, "."))
	if err != nil {
		return nil, nil, err
	}
	if err := onlyFields(obj, topFields, prefix); err != nil {
		return nil, nil, err
	}
	ev := &PurchaseEvent{}
	var warnings []string
	steps := []func() error{
		func() (err error) { ev.EventID, err = text(obj, "event_id", prefix, true, 200); return },
		func() (err error) {
			ev.Type, err = text(obj, "type", prefix, false, 50)
			if err == nil && ev.Type != "" && ev.Type != "purchase" {
				err = fieldErr(prefix+"type", "must be \"purchase\" on this endpoint")
			}
			return
		},
		func() (err error) { ev.OrderID, err = text(obj, "order_id", prefix, true, 200); return },
		func() error { return parseAmount(obj, prefix, ev) },
		func() (err error) { ev.Currency, err = currency(obj, prefix); return },
		func() (err error) { ev.OccurredAt, err = timestamp(obj, "occurred_at", prefix); return },
		func() (err error) { ev.Items, err = items(obj, prefix); return },
		func() (err error) { ev.Quantity, err = quantity(obj, prefix, ev.Items); return },
		func() (err error) { warnings, err = parseCustomer(obj, prefix, &ev.Customer); return },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, nil, err
		}
	}
	return ev, warnings, nil
}

func object(raw []byte, field string) (map[string]json.RawMessage, error) {
	if field == "" {
		field = "body"
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fieldErr(field, "must be a JSON object")
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&obj); err != nil {
		return nil, fieldErr(field, "is not valid JSON: %s", jsonProblem(err))
	}
	if dec.More() {
		return nil, fieldErr(field, "has data after the JSON object")
	}
	return obj, nil
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s (at byte %d)", syn.Error(), syn.Offset)
	}
	return "malformed JSON"
}

func onlyFields(obj map[string]json.RawMessage, allowed []string, prefix string) error {
	var unknown []string
	for k := range obj {
		if !contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return fieldErr(prefix+clip(unknown[0]), "unknown field; the fields are %s", strings.Join(allowed, ", "))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// clip bounds a client-given name before it is echoed back.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		return s + "..."
	}
	return s
}

func present(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	v, ok := obj[name]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil, false
	}
	return v, true
}

func text(obj map[string]json.RawMessage, name, prefix string, required bool, maxLen int) (string, error) {
	v, ok := present(obj, name)
	if !ok {
		if required {
			return "", fieldErr(prefix+name, "is required")
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fieldErr(prefix+name, "must be a string")
	}
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		return "", fieldErr(prefix+name, "must not be empty")
	case len(s) > maxLen:
		return "", fieldErr(prefix+name, "is longer than %d bytes", maxLen)
	case strings.ContainsRune(s, 0) || !utf8.ValidString(s):
		return "", fieldErr(prefix+name, "contains a NUL or invalid UTF-8")
	}
	return s, nil
}

func optText(obj map[string]json.RawMessage, name, prefix string, maxLen int) (*string, error) {
	if _, ok := obj[name]; !ok {
		return nil, nil
	}
	s, err := text(obj, name, prefix, false, maxLen)
	return &s, err
}

func optBool(obj map[string]json.RawMessage, name, prefix string) (*bool, error) {
	v, ok := present(obj, name)
	if !ok {
		return nil, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return nil, fieldErr(prefix+name, "must be true or false")
	}
	return &b, nil
}

func parseAmount(obj map[string]json.RawMessage, prefix string, ev *PurchaseEvent) error {
	v, ok := present(obj, "amount")
	if !ok {
		return fieldErr(prefix+"amount", "is required")
	}
	if v[0] == '"' {
		return fieldErr(prefix+"amount", "must be a number, e.g. 12.50, not a string")
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil || n == "" {
		return fieldErr(prefix+"amount", "must be a number, e.g. 12.50")
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return fieldErr(prefix+"amount", "must be a number, e.g. 12.50")
	}
	if r.Sign() < 0 {
		return fieldErr(prefix+"amount", "must not be negative")
	}
	cents := new(big.Rat).Mul(r, big.NewRat(100, 1))
	if !cents.IsInt() {
		return fieldErr(prefix+"amount", "has more than 2 decimal places")
	}
	if !cents.Num().IsInt64() || cents.Num().Int64() > maxAmountCent {
		return fieldErr(prefix+"amount", "is too large")
	}
	ev.AmountCents = cents.Num().Int64()
	ev.Amount = json.Number(r.FloatString(2))
	return nil
}

func currency(obj map[string]json.RawMessage, prefix string) (string, error) {
	s, err := text(obj, "currency", prefix, false, 3)
	if err != nil || s == "" {
		return "USD", err
	}
	s = strings.ToUpper(s)
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return "", fieldErr(prefix+"currency", "must be a 3-letter ISO 4217 code such as EUR")
		}
	}
	if len(s) != 3 {
		return "", fieldErr(prefix+"currency", "must be a 3-letter ISO 4217 code such as EUR")
	}
	return s, nil
}

func timestamp(obj map[string]json.RawMessage, name, prefix string) (time.Time, error) {
	s, err := text(obj, name, prefix, true, 64)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fieldErr(prefix+name, "must be an RFC 3339 time such as 2026-03-01T12:30:00Z")
	}
	if t.Year() < 1970 || t.Year() > 2200 {
		return time.Time{}, fieldErr(prefix+name, "is out of range (years 1970 to 2200)")
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

// quantity reads the optional item count: without it, the sum of the item
// lines' quantities; with item lines, it must equal that sum.
func quantity(obj map[string]json.RawMessage, prefix string, lines []EventItem) (int, error) {
	sum := 0
	for _, it := range lines {
		sum += it.Quantity
	}
	v, ok := present(obj, "quantity")
	if !ok {
		return sum, nil
	}
	var q int
	if err := json.Unmarshal(v, &q); err != nil || q < 0 || q > 1e9 {
		return 0, fieldErr(prefix+"quantity", "must be a whole number from 0 to 1000000000")
	}
	if lines != nil && q != sum {
		return 0, fieldErr(prefix+"quantity", "is %d but the items' quantities add up to %d; send one or make them agree", q, sum)
	}
	return q, nil
}

func items(obj map[string]json.RawMessage, prefix string) ([]EventItem, error) {
	v, ok := present(obj, "items")
	if !ok {
		return nil, nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(v, &raws); err != nil {
		return nil, fieldErr(prefix+"items", "must be an array of objects")
	}
	if len(raws) > maxItems {
		return nil, fieldErr(prefix+"items", "has more than %d lines", maxItems)
	}
	out := make([]EventItem, len(raws))
	for i, raw := range raws {
		p := fmt.Sprintf("%sitems[%d].", prefix, i)
		o, err := object(raw, strings.TrimSuffix(p, "."))
		if err != nil {
			return nil, err
		}
		if err := onlyFields(o, itemFields, p); err != nil {
			return nil, err
		}
		it := &out[i]
		for _, f := range []struct {
			name string
			dst  *string
		}{{"sku", &it.SKU}, {"name", &it.Name}, {"category", &it.Category}} {
			if *f.dst, err = text(o, f.name, p, false, maxText); err != nil {
				return nil, err
			}
		}
		if q, ok := present(o, "quantity"); ok {
			if err := json.Unmarshal(q, &it.Quantity); err != nil || it.Quantity < 0 || it.Quantity > 1e6 {
				return nil, fieldErr(p+"quantity", "must be a whole number from 0 to 1000000")
			}
		}
		if pr, ok := present(o, "price"); ok {
			if err := json.Unmarshal(pr, &it.Price); err != nil || it.Price < 0 || it.Price > 1e13 {
				return nil, fieldErr(p+"price", "must be a number from 0")
			}
		}
	}
	return out, nil
}
