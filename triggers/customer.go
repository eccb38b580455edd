package triggers

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
)

// maxWarnings bounds the warnings echoed for one event.
const maxWarnings = 10

// parseCustomer reads the customer object: external_id is required, the
// known profile fields are validated, unknown fields become warnings.
func parseCustomer(obj map[string]json.RawMessage, prefix string, c *EventCustomer) ([]string, error) {
	p := prefix + "customer."
	v, ok := present(obj, "customer")
	if !ok {
		return nil, fieldErr(prefix+"customer", "is required (an object with at least external_id)")
	}
	o, err := object(v, prefix+"customer")
	if err != nil {
		return nil, err
	}
	var warnings []string
	var unknown []string
	for k := range o {
		if !contains(customerFields, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		if len(warnings) == maxWarnings {
			warnings = append(warnings, fmt.Sprintf("%d more unknown customer fields ignored", len(unknown)-maxWarnings))
			break
		}
		warnings = append(warnings, p+clip(k)+": unknown field, ignored")
	}
	if c.ExternalID, err = text(o, "external_id", p, true, 200); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  **string
	}{{"email", &c.Email}, {"phone", &c.Phone}, {"first_name", &c.FirstName}, {"last_name", &c.LastName},
		{"locale", &c.Locale}} {
		if *f.dst, err = optText(o, f.name, p, 254); err != nil {
			return nil, err
		}
	}
	if c.Email != nil && *c.Email != "" && !strings.Contains(*c.Email, "@") {
		return nil, fieldErr(p+"email", "is not an email address")
	}
	if c.TimeZone, err = optText(o, "time_zone", p, 64); err != nil {
		return nil, err
	}
	if c.TimeZone != nil && *c.TimeZone != "" {
		if _, err := time.LoadLocation(*c.TimeZone); err != nil || *c.TimeZone == "Local" {
			return nil, fieldErr(p+"time_zone", "is not an IANA time zone such as Europe/Paris")
		}
	}
	if c.Birthday, err = optText(o, "birthday", p, 10); err != nil {
		return nil, err
	}
	if c.Birthday != nil && *c.Birthday != "" {
		if b, err := time.Parse(time.DateOnly, *c.Birthday); err != nil || b.Year() < 1900 {
			return nil, fieldErr(p+"birthday", "must be a date YYYY-MM-DD (year 1900 or later)")
		}
	}
	if c.EmailConsent, err = optBool(o, "email_consent", p); err != nil {
		return nil, err
	}
	if c.SMSConsent, err = optBool(o, "sms_consent", p); err != nil {
		return nil, err
	}
	return warnings, nil
}

// hasProfile reports whether the event carries profile fields to upsert.
func (c *EventCustomer) hasProfile() bool {
	return c.Email != nil || c.Phone != nil || c.FirstName != nil || c.LastName != nil || c.Locale != nil ||
		c.TimeZone != nil || c.Birthday != nil || c.EmailConsent != nil || c.SMSConsent != nil
}

// CustomerInput is the profile upsert the event asks for, or nil when it
// only names the customer.
func (c *EventCustomer) CustomerInput() *store.CustomerInput {
	if !c.hasProfile() {
		return nil
	}
	in := &store.CustomerInput{ExternalID: c.ExternalID, Email: c.Email, Phone: c.Phone, FirstName: c.FirstName,
		LastName: c.LastName, Locale: c.Locale, TimeZone: c.TimeZone, EmailConsent: c.EmailConsent, SMSConsent: c.SMSConsent}
	if c.Birthday != nil {
		var b time.Time // "" clears the birthday
		if *c.Birthday != "" {
			b, _ = time.Parse(time.DateOnly, *c.Birthday)
		}
		in.Birthday = &b
	}
	return in
}

// PurchaseInput is the purchase the event records.
func (e *PurchaseEvent) PurchaseInput() store.PurchaseInput {
	items, _ := json.Marshal(e.Items)
	if e.Items == nil {
		items = nil
	}
	return store.PurchaseInput{OrderID: e.OrderID, CustomerExternalID: e.Customer.ExternalID,
		AmountCents: e.AmountCents, Currency: e.Currency, Quantity: e.Quantity, Items: items, OccurredAt: e.OccurredAt}
}

// RulesEvent is the event as audience rules and templates see it
// (event.amount, event.items...). FirstOrder is left for the caller, who
// knows the customer's other purchases.
func (e *PurchaseEvent) RulesEvent() rules.Event {
	ev := rules.Event{Type: "purchase", OrderID: e.OrderID, Amount: float64(e.AmountCents) / 100,
		Currency: e.Currency, OccurredAt: e.OccurredAt}
	for _, it := range e.Items {
		ev.Items = append(ev.Items, rules.Item{SKU: it.SKU, Name: it.Name, Category: it.Category,
			Quantity: it.Quantity, Price: it.Price})
	}
	return ev
}
