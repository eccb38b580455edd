package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
)

// An exit_on entry cancels a customer's messages not sent yet. Which ones
// depends on the campaign's trigger, and never on the order events arrive
// in (a shop's retries and backfills reorder them):
//
//   - an event-triggered campaign's message is cancelled by an exit event
//     that happened between its triggering event and its due time (the
//     event's time plus the delay): a cart reminder is cancelled by a
//     purchase in that hour, whether the purchase is received before or
//     after the cart (exitOn, and exitedMeanwhile when the cart comes
//     last), and not by a purchase before the cart;
//   - another campaign's message, and a journey's send step (whose time
//     is the journey's, not its trigger's), is cancelled by an exit event
//     received after it was planned (a win-back planned this morning, a
//     purchase this afternoon).
//
// An entry with a filter (`{event: purchase, where: "event.amount > 50"}`)
// takes only the events that pass it, on every path: the reaction to the
// event (exitOn, exitedMeanwhile), the delivery's last look before a send
// (exitedBeforeSend, for a reaction not run yet) and the journey sweep
// (walk.exitOn).

// exitOn cancels the customer's waiting messages that the event ev (in
// env) exits, per campaign as above.
func (e *Engine) exitOn(ctx context.Context, env *rules.Env, customerID int64, ev *reaction, received, now time.Time) (int64, error) {
	var byReceipt, cancel []int64
	var plain []string
	for _, c := range e.Campaigns() {
		if !e.exits(c, env, customerID) {
			continue
		}
		t := c.Trigger.Event
		if !byTriggerWindow(c) {
			plain = append(plain, c.ID)
			continue
		}
		rows, err := e.st.WaitingEventRows(ctx, customerID, c.ID)
		if err != nil {
			return 0, err
		}
		for _, r := range rows {
			at, err := e.eventTime(ctx, customerID, r.EventID)
			if errors.Is(err, store.ErrNotFound) {
				e.opts.Logger.Warn("event: the event a waiting message is for is gone; not exiting it", "campaign", c.ID,
					"customer", customerID, "delivery", r.ID, "err", err)
				continue
			}
			if err != nil {
				return 0, err
			}
			if !ev.at.Before(at) && !ev.at.After(at.Add(t.Delay)) {
				cancel = append(cancel, r.ID)
			}
		}
	}
	byReceipt, err := e.st.WaitingFor(ctx, customerID, plain, received)
	if err != nil {
		return 0, err
	}
	return e.st.CancelDeliveries(ctx, append(cancel, byReceipt...), store.StatusCancelled, store.ReasonExitPrefix+store.Reason(ev.typ), now)
}

// byTriggerWindow reports whether c's messages are exited by events in
// their trigger's window (an event-triggered one-message campaign), not by
// events received after they were planned.
func byTriggerWindow(c *campaigns.Campaign) bool {
	return c.Trigger.Kind == campaigns.TriggerEvent && c.Trigger.Event != nil && c.Journey == nil && !c.IsJourneyStep()
}

// exitedBeforeSend is the last look at exit_on before a send, by the rules
// above, for an exit event whose reaction has not run yet (queued, or its
// task lost with Redis): it returns the cancel reason when a stored event
// of an entry's type passes the entry's filter and falls in the message's
// window. A `purchase` entry without a filter also takes the customer's
// latest purchase time, which purchases imported from files (not in the
// events log) move.
func (e *Engine) exitedBeforeSend(ctx context.Context, c *campaigns.Campaign, d *store.Delivery, cust *store.Customer,
	now time.Time) (store.Reason, error) {
	if len(c.Exits) == 0 {
		return "", nil
	}
	env := rules.NewEnv(e.opts.DefaultLoc)
	env.Now = now
	FillEnv(env, cust)
	for _, f := range c.Exits {
		if f.Event == triggers.TypePurchase && f.Where == nil && cust.LastPurchaseAt.After(d.CreatedAt) {
			return store.ReasonExitPurchase, nil
		}
		evs, err := e.exitCandidates(ctx, c, d, f.Event)
		if err != nil {
			return "", err
		}
		if len(evs) == 0 {
			continue
		}
		if err := e.giveHistory(ctx, env, cust.ID, c.ReactionUses(f.Event), now); err != nil {
			return "", err
		}
		for _, se := range evs {
			if d.EventID != nil && se.EventID == *d.EventID {
				continue // the message's own trigger
			}
			env.Event = logEventView(se)
			if e.exits(c, env, cust.ID) {
				return store.ReasonExitPrefix + store.Reason(se.Type), nil
			}
		}
	}
	return "", nil
}

// exitCandidates lists the customer's stored events of type typ in the
// window of the message d: its trigger's window, or received after it was
// planned.
func (e *Engine) exitCandidates(ctx context.Context, c *campaigns.Campaign, d *store.Delivery, typ string) ([]store.StoredEvent, error) {
	if !byTriggerWindow(c) {
		return e.st.EventsReceivedSince(ctx, d.CustomerID, typ, d.CreatedAt)
	}
	if d.EventID == nil {
		return nil, nil
	}
	at, err := e.eventTime(ctx, d.CustomerID, *d.EventID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // the reaction's rule: an exit needs the trigger's time
	}
	if err != nil {
		return nil, err
	}
	return e.st.EventsBetween(ctx, d.CustomerID, typ, at, at.Add(c.Trigger.Event.Delay))
}

// exits reports whether an entry of c's exit_on takes the event in env.
func (e *Engine) exits(c *campaigns.Campaign, env *rules.Env, customerID int64) bool {
	for _, f := range c.Exits {
		if f.Event != env.Event.Type {
			continue
		}
		ok, err := f.Matches(env)
		if err != nil {
			e.opts.Logger.Warn("event: exit_on filter failed; not exiting", "campaign", c.ID, "customer", customerID, "err", err)
			continue
		}
		if ok {
			return true
		}
	}
	return false
}

// exitedMeanwhile cancels the message just planned for the event eventID
// (at at) when an exit event of c already stored happened between at and
// its due time: the purchase was received before the cart it follows.
func (e *Engine) exitedMeanwhile(ctx context.Context, env *rules.Env, c *campaigns.Campaign, customerID int64,
	eventID string, at, now time.Time) (int64, error) {
	trigger := env.Event
	defer func() { env.Event = trigger }()
	for _, f := range c.Exits {
		evs, err := e.st.EventsBetween(ctx, customerID, f.Event, at, at.Add(c.Trigger.Event.Delay))
		if err != nil {
			return 0, err
		}
		for _, se := range evs {
			if se.EventID == eventID {
				continue
			}
			env.Event = logEventView(se)
			if !e.exits(c, env, customerID) {
				continue
			}
			rows, err := e.st.WaitingEventRows(ctx, customerID, c.ID)
			if err != nil {
				return 0, err
			}
			var ids []int64
			for _, r := range rows {
				if r.EventID == eventID {
					ids = append(ids, r.ID)
				}
			}
			return e.st.CancelDeliveries(ctx, ids, store.StatusCancelled, store.ReasonExitPrefix+store.Reason(se.Type), now)
		}
	}
	return 0, nil
}

// eventTime is when the customer's stored event eventID happened: from the
// events log, else (an event older than the log) from its inbox payload;
// store.ErrNotFound when neither has it any more.
func (e *Engine) eventTime(ctx context.Context, customerID int64, eventID string) (time.Time, error) {
	at, err := e.st.EventTime(ctx, customerID, eventID)
	if !errors.Is(err, store.ErrNotFound) {
		return at, err
	}
	row, err := e.st.InboxEvent(ctx, eventID)
	if err != nil {
		return time.Time{}, fmt.Errorf("load event %s: %w", eventID, err)
	}
	ev, err := reactionOf(row)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored event %s (%v): %w", eventID, err, store.ErrNotFound)
	}
	return ev.at, nil
}

// logEventView is a row of the events log as a rule sees it (event.*).
func logEventView(se store.StoredEvent) rules.Event {
	props := map[string]any{}
	_ = json.Unmarshal(se.Properties, &props)
	ev := rules.Event{Type: se.Type, Properties: props, OccurredAt: se.OccurredAt}
	if se.Type == triggers.TypePurchase {
		ev.OrderID, _ = props["order_id"].(string)
		ev.Currency, _ = props["currency"].(string)
		ev.Amount, _ = props["amount"].(float64)
	}
	return ev
}
