package worker

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
)

// eventProps is an event's properties as journey_events keeps them: the
// names rules read as event.* (rules.Event's expr tags).
type eventProps struct {
	OrderID    string      `json:"order_id,omitempty"`
	Amount     float64     `json:"amount"`
	Currency   string      `json:"currency,omitempty"`
	FirstOrder bool        `json:"first_order,omitempty"`
	Items      []itemProps `json:"items,omitempty"`
}

type itemProps struct {
	SKU      string  `json:"sku,omitempty"`
	Name     string  `json:"name,omitempty"`
	Category string  `json:"category,omitempty"`
	Quantity int     `json:"quantity,omitempty"`
	Price    float64 `json:"price,omitempty"`
}

// wakeJourneys wakes the customer's journey states that wait for (or exit
// on) the event, and sweeps here at once when any woke.
func (e *Engine) wakeJourneys(ctx context.Context, customerID int64, ev rules.Event) (int, error) {
	p := eventProps{OrderID: ev.OrderID, Amount: ev.Amount, Currency: ev.Currency, FirstOrder: ev.FirstOrder}
	for _, it := range ev.Items {
		p.Items = append(p.Items, itemProps(it))
	}
	var props map[string]any
	b, _ := json.Marshal(p)
	_ = json.Unmarshal(b, &props)
	n, err := e.st.WakeJourneys(ctx, customerID, store.JourneyEvent{Type: ev.Type, At: ev.OccurredAt, Properties: props})
	if n > 0 {
		e.pokeJourneys()
	}
	return n, err
}

// rulesEventOf is the rule view (event.*) of a kept event: the purchase
// fields from its properties, whatever its type.
func rulesEventOf(ev store.JourneyEvent) rules.Event {
	var p eventProps
	if b, err := json.Marshal(ev.Properties); err == nil {
		_ = json.Unmarshal(b, &p) // a property of another shape is left zero
	}
	out := rules.Event{Type: ev.Type, OrderID: p.OrderID, Amount: p.Amount, Currency: p.Currency,
		FirstOrder: p.FirstOrder, OccurredAt: ev.At.In(time.UTC)}
	for _, it := range p.Items {
		out.Items = append(out.Items, rules.Item(it))
	}
	return out
}
