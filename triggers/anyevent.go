package triggers

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/store"
)

// AnyEvent is an event of any type as a shop posts it to /v1/events: a
// cart update, a product view, a sign-up, a purchase... It is stored in the
// events log; a purchase also records its order and the customer's
// purchase metrics, as /v1/events/purchase does.
type AnyEvent struct {
	// ID is the event's idempotency key: the webhook-id header for one
	// event, the item's "id" (or "<webhook-id>/<index>") in a batch.
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Customer   string          `json:"customer"`
	Time       time.Time       `json:"time"`
	Properties json.RawMessage `json:"properties"`
}

// TypePurchase is the event type whose properties are an order.
const TypePurchase = "purchase"

// maxFuture is how far ahead of the server's clock an event's time may be:
// a shop's clock a little fast is fine, a time in another year is a bug.
const maxFuture = 24 * time.Hour

var (
	anyEventFields = []string{"type", "customer", "time", "properties"}
	batchItemField = "id"
	eventTypeRe    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	// purchaseProps are a purchase event's properties: today's purchase
	// body without what the event itself carries (id, customer, time).
	purchaseProps = []string{"order_id", "amount", "currency", "items", "quantity"}
)

// ParseAnyEvent decodes and validates one event object strictly. id is its
// idempotency key when the object may not carry one (a single event: the
// webhook-id); in a batch id is the default and the object's "id" wins.
// prefix is prepended to field names ("events[2].").
func ParseAnyEvent(raw []byte, id, prefix string, batch bool, now time.Time) (*AnyEvent, error) {
	obj, err := object(raw, strings.TrimSuffix(prefix, "."))
	if err != nil {
		return nil, err
	}
	allowed := anyEventFields
	if batch {
		allowed = append([]string{batchItemField}, anyEventFields...)
	}
	if err := onlyFields(obj, allowed, prefix); err != nil {
		if !batch && obj["id"] != nil {
			return nil, fieldErr(prefix+"id", "is not a field of a single event: its id is the webhook-id header")
		}
		return nil, err
	}
	ev := &AnyEvent{ID: id}
	if batch {
		s, err := text(obj, "id", prefix, false, 200)
		if err != nil {
			return nil, err
		}
		if s != "" {
			ev.ID = s
		}
	}
	if ev.Type, err = text(obj, "type", prefix, true, 64); err != nil {
		return nil, err
	}
	if !eventTypeRe.MatchString(ev.Type) {
		return nil, fieldErr(prefix+"type", "%q is not an event type: use lowercase letters, digits and _, starting with a letter, e.g. cart_updated", clip(ev.Type))
	}
	if ev.Customer, err = text(obj, "customer", prefix, true, 200); err != nil {
		return nil, err
	}
	if ev.Time, err = timestamp(obj, "time", prefix); err != nil {
		return nil, err
	}
	if ev.Time.After(now.Add(maxFuture)) {
		return nil, fieldErr(prefix+"time", "is more than 24 hours after the server's clock (%s); send the time the event happened",
			now.UTC().Format(time.RFC3339))
	}
	ev.Properties = json.RawMessage("{}")
	if v, ok := present(obj, "properties"); ok {
		if _, err := object(v, prefix+"properties"); err != nil {
			return nil, fieldErr(prefix+"properties", "must be a JSON object, e.g. {\"total\": 84.5}")
		}
		ev.Properties = v
	}
	return ev, nil
}

// purchaseOf reads a purchase event's properties as an order, with the
// checks of /v1/events/purchase; field errors name "properties.<field>".
func (ev *AnyEvent) purchaseOf(prefix string) (*PurchaseEvent, error) {
	var props map[string]json.RawMessage
	if err := json.Unmarshal(ev.Properties, &props); err != nil {
		return nil, fieldErr(prefix+"properties", "must be a JSON object")
	}
	p := prefix + "properties."
	if err := onlyFields(props, purchaseProps, p); err != nil {
		return nil, err
	}
	body := make(map[string]any, len(props)+3)
	for k, v := range props {
		body[k] = v
	}
	body["event_id"], body["customer"] = ev.ID, map[string]string{"external_id": ev.Customer}
	body["occurred_at"] = ev.Time.Format(time.RFC3339Nano)
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fieldErr(prefix+"properties", "could not be read: %v", err)
	}
	// The id, customer and time were checked already: an error names a
	// property.
	pe, _, err := ParsePurchase(raw, p)
	return pe, err
}

// EventResult is the answer for one event of /v1/events, stored with it and
// given again, with Duplicate set, to a repeat of its id.
type EventResult struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"` // "accepted", or "conflict" for an id reused for another event
	Duplicate bool   `json:"duplicate,omitempty"`
	Error     string `json:"error,omitempty"`
}

// inboxEvent is the event as the store takes it in: its inbox row (payload:
// the event in its checked form, compared with a repeat of the id), its
// row in the events log and, for a purchase, its order.
func (ev *AnyEvent) inboxEvent(prefix string, now time.Time) (store.InboxEvent, error) {
	res, _ := json.Marshal(EventResult{ID: ev.ID, Type: ev.Type, Status: "accepted"})
	in := store.InboxEvent{EventID: ev.ID, EventType: ev.Type, ReceivedAt: now, Result: res, ExternalID: ev.Customer,
		Event: &store.EventInput{Type: ev.Type, OccurredAt: ev.Time, Properties: ev.Properties}}
	if ev.Type != TypePurchase {
		in.Payload, _ = json.Marshal(ev)
		return in, nil
	}
	pe, err := ev.purchaseOf(prefix)
	if err != nil {
		return in, err
	}
	// The reaction reads a purchase's inbox payload as /v1/events/purchase
	// stores it.
	in.Payload, _ = json.Marshal(pe)
	in.Purchase = pe.PurchaseInput()
	in.Event.Properties = pe.logProperties()
	return in, nil
}

// logProperties are a purchase's properties in the events log: its order
// in the checked form (amount as a decimal, currency defaulted).
func (e *PurchaseEvent) logProperties() json.RawMessage {
	b, _ := json.Marshal(struct {
		OrderID  string      `json:"order_id"`
		Amount   json.Number `json:"amount"`
		Currency string      `json:"currency"`
		Quantity int         `json:"quantity"`
		Items    []EventItem `json:"items,omitempty"`
	}{e.OrderID, e.Amount, e.Currency, e.Quantity, e.Items})
	return b
}

// batchID is the default id of the i-th event of a batch sent under
// webhook-id: a retried batch repeats its ids.
func batchID(webhookID string, i int) string { return fmt.Sprintf("%s/%d", webhookID, i) }
