package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
)

// reaction is a stored event as its reaction reads it.
type reaction struct {
	typ, customer string
	at            time.Time
	// key is the occurrence key of the messages it triggers: a purchase's
	// order id (the first round's), else the event id.
	key     string
	orderID string // a purchase's
	rules   rules.Event
}

// reactionOf decodes an inbox row: a purchase as /v1/events/purchase
// stores it, any other type as /v1/events does.
func reactionOf(row *store.InboxRow) (*reaction, error) {
	if row.EventType == "" || row.EventType == triggers.TypePurchase {
		ev, _, err := triggers.ParsePurchase(row.Payload, "")
		if err != nil {
			return nil, err
		}
		r := &reaction{typ: triggers.TypePurchase, customer: ev.Customer.ExternalID, at: ev.OccurredAt,
			key: ev.OrderID, orderID: ev.OrderID, rules: ev.RulesEvent()}
		amount, _ := ev.Amount.Float64()
		r.rules.Properties = map[string]any{"order_id": ev.OrderID, "amount": amount, "currency": ev.Currency,
			"quantity": float64(ev.Quantity)}
		return r, nil
	}
	var ev triggers.AnyEvent
	if err := json.Unmarshal(row.Payload, &ev); err != nil {
		return nil, err
	}
	if ev.Customer == "" || ev.Type == "" {
		return nil, fmt.Errorf("event %q has no type or customer", row.EventID)
	}
	props := map[string]any{}
	if len(ev.Properties) > 0 {
		if err := json.Unmarshal(ev.Properties, &props); err != nil {
			return nil, fmt.Errorf("properties: %w", err)
		}
	}
	return &reaction{typ: ev.Type, customer: ev.Customer, at: ev.Time, key: ev.ID,
		rules: rules.Event{Type: ev.Type, Properties: props, OccurredAt: ev.Time}}, nil
}

// historyUses converts the rules' uses for the store.
func historyUses(uses []rules.EventUse) []store.HistoryUse {
	out := make([]store.HistoryUse, len(uses))
	for i, u := range uses {
		out[i] = store.HistoryUse{Type: u.Type, Span: u.Span}
	}
	return out
}

// fillHistory sets h, sized for uses, to one customer's history (found
// false: no events).
func fillHistory(h *rules.History, uses []rules.EventUse, row store.History, found bool) {
	h.Reset(uses)
	if found {
		copy(h.Counts, row.Counts)
		copy(h.Last, row.Last)
	}
}

// giveHistory reads one customer's history for uses and gives it to env.
func (e *Engine) giveHistory(ctx context.Context, env *rules.Env, customerID int64, uses []rules.EventUse, now time.Time) error {
	return GiveHistory(ctx, e.st, env, customerID, uses, now)
}

// GiveHistory reads one customer's event history for uses (as of now) and
// gives it to env, for a rule evaluated outside an audience stream (an
// event's reaction, a preview).
func GiveHistory(ctx context.Context, st *store.Store, env *rules.Env, customerID int64, uses []rules.EventUse, now time.Time) error {
	h := &rules.History{}
	rules.SetHistory(env, h)
	if len(uses) == 0 {
		h.Reset(nil)
		return nil
	}
	m, err := st.EventHistoryOf(ctx, []int64{customerID}, historyUses(uses), now)
	if err != nil {
		return err
	}
	row, ok := m[customerID]
	fillHistory(h, uses, row, ok)
	return nil
}

// pageHistory reads, before each page of an audience stream, the event
// history of the page's customers in one query.
type pageHistory struct {
	st    *store.Store
	uses  []rules.EventUse
	suses []store.HistoryUse
	now   time.Time
	page  map[int64]store.History
	h     rules.History
}

func newPageHistory(st *store.Store, uses []rules.EventUse, now time.Time) *pageHistory {
	return &pageHistory{st: st, uses: uses, suses: historyUses(uses), now: now}
}

// before is StreamOptions.BeforePage.
func (p *pageHistory) before(ctx context.Context) func(after, upTo int64, limit int) error {
	return func(after, upTo int64, limit int) error {
		m, err := p.st.EventHistoryPage(ctx, after, upTo, limit, p.suses, p.now)
		p.page = m
		return err
	}
}

// give sets env's history to the customer's, from the page read.
func (p *pageHistory) give(env *rules.Env, customerID int64) {
	row, ok := p.page[customerID]
	fillHistory(&p.h, p.uses, row, ok)
	rules.SetHistory(env, &p.h)
}
