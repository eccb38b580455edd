package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
)

// TypeEventPurchase reacts to a committed event of any type (its name is
// the first round's, kept so queued tasks still run): event-triggered
// campaigns and exit conditions. Its payload is the inbox event id only.
const TypeEventPurchase = "event:purchase"

// EventPayload names one webhook inbox row.
type EventPayload struct {
	EventID string `json:"event_id"`
}

// staleEvent is how late past its delay an event may be processed and still
// trigger campaigns: a backfill of old orders must not send thank-yous for
// them. Exit conditions apply whatever the age.
const staleEvent = 24 * time.Hour

// Event enqueues the reaction to an inbox event. It goes to the deliver
// queue: a reaction is one customer's small plan, and should not wait behind
// a large campaign run.
func (q *Enqueuer) Event(ctx context.Context, eventID string) error {
	return q.enqueue(ctx, TypeEventPurchase, "event:"+eventID, QueueDeliver, EventPayload{EventID: eventID},
		asynq.MaxRetry(10))
}

// EnqueueEvent is Event under the name triggers.Reactor asks for.
func (q *Enqueuer) EnqueueEvent(ctx context.Context, eventID string) error {
	return q.Event(ctx, eventID)
}

func (e *Engine) handleEvent(ctx context.Context, t *asynq.Task) error {
	p, err := decode[EventPayload](t)
	if err != nil {
		return err
	}
	return e.ProcessEvent(ctx, p.EventID)
}

// EventReport counts what reacting to one event did.
type EventReport struct {
	Matched   []string // campaigns whose rule matched: a ledger row exists for each
	Cancelled int64    // waiting messages cancelled by exit_on
	Woken     int      // journey states waiting for (or exiting on) the event, woken
	Stale     bool     // too old to trigger campaigns
}

// ProcessEvent reacts to one inbox event and marks it processed, or failed
// with the error (the task is retried; "tidings events replay" retries
// failed rows later). Processing twice is harmless: the ledger's unique key
// (campaign, customer, occurrence) and the cancellations are idempotent.
func (e *Engine) ProcessEvent(ctx context.Context, eventID string) error {
	row, err := e.st.InboxEvent(ctx, eventID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("event %q is not in the inbox: %w", eventID, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	if row.Status == store.InboxProcessed {
		return nil
	}
	rep, err := e.react(ctx, row)
	if err != nil {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if ferr := e.st.FinishEvent(wctx, eventID, store.InboxFailed, err.Error(), e.now()); ferr != nil {
			e.opts.Logger.Error("event: record failure", "event", eventID, "err", ferr)
		}
		return fmt.Errorf("event %s: %w", eventID, err)
	}
	e.opts.Logger.Info("event processed", "event", eventID, "campaigns", rep.Matched, "cancelled", rep.Cancelled,
		"journeys_woken", rep.Woken,
		"stale", rep.Stale)
	return e.st.FinishEvent(ctx, eventID, store.InboxProcessed, "", e.now())
}

// ReplayEvents processes, in this process, the inbox events whose reaction
// failed or never ran (received more than a minute ago and still waiting),
// up to limit. It returns how many it processed and the first error.
func (e *Engine) ReplayEvents(ctx context.Context, limit int) (done, failed int, err error) {
	ids, err := e.st.EventsToReplay(ctx, e.now().Add(-time.Minute), limit)
	if err != nil {
		return 0, 0, err
	}
	var first error
	for _, id := range ids {
		if err := e.ProcessEvent(ctx, id); err != nil {
			failed++
			if first == nil {
				first = err
			}
			continue
		}
		done++
	}
	return done, failed, first
}

// react is the reaction to one stored event of any type: the exit_on
// entries it meets cancel the customer's waiting messages, and the
// campaigns it triggers (type, where and audience) get a ledger row due
// at the event's time plus their delay.
func (e *Engine) react(ctx context.Context, row *store.InboxRow) (EventReport, error) {
	var rep EventReport
	ev, err := reactionOf(row)
	if err != nil {
		return rep, fmt.Errorf("stored payload: %w", err)
	}
	cust, err := e.st.CustomerByExternalID(ctx, ev.customer)
	if err != nil {
		return rep, fmt.Errorf("load customer: %w", err)
	}
	now := e.now()
	env := rules.NewEnv(e.opts.DefaultLoc)
	env.Now = now
	FillEnv(env, cust)
	env.Event = ev.rules
	if ev.orderID != "" {
		if env.Event.FirstOrder, err = e.st.IsFirstOrder(ctx, cust.ID, ev.orderID); err != nil {
			return rep, err
		}
	}
	var uses [][]rules.EventUse
	for _, c := range e.Campaigns() {
		uses = append(uses, c.ReactionUses(ev.typ))
	}
	if err := e.giveHistory(ctx, env, cust.ID, rules.MergeUses(uses...), now); err != nil {
		return rep, err
	}
	if err := GiveOptOuts(ctx, e.st, env, cust.ID, slices.ContainsFunc(e.Campaigns(), (*campaigns.Campaign).ReadsTopics)); err != nil {
		return rep, err
	}
	if rep.Cancelled, err = e.exitOn(ctx, env, cust.ID, ev, row.ReceivedAt, now); err != nil {
		return rep, err
	}
	if err := e.emitConversion(ctx, cust, ev); err != nil {
		return rep, err
	}
	cd := e.candidateOf(cust)
	for _, c := range e.Campaigns() {
		t := c.Trigger
		if c.Status == campaigns.StatusPaused || t.Kind != campaigns.TriggerEvent || t.Event == nil || t.Event.Event != ev.typ {
			continue
		}
		ok, err := t.Event.Matches(env)
		if err == nil && ok {
			ok, err = c.Audience.Eval(env)
		}
		if err != nil {
			e.opts.Logger.Warn("event: campaign rule failed; campaign skipped", "campaign", c.ID, "customer", cust.ID, "err", err)
			continue
		}
		if !ok {
			continue
		}
		at := ev.at.Add(t.Event.Delay)
		if now.Sub(at) > staleEvent {
			rep.Stale = true
			continue
		}
		cd.occurrence = c.Occurrence.Key(ev.at, cd.loc, ev.key)
		if err := e.planEvent(ctx, c, cd, row.EventID, at, now); err != nil {
			return rep, fmt.Errorf("campaign %s: %w", c.ID, err)
		}
		rep.Matched = append(rep.Matched, c.ID)
		n, err := e.exitedMeanwhile(ctx, env, c, cust.ID, row.EventID, ev.at, now)
		if err != nil {
			return rep, fmt.Errorf("campaign %s: %w", c.ID, err)
		}
		rep.Cancelled += n
	}
	// Journeys waiting for the type (wait_for) or exiting on it wake now.
	// Last, so a reaction retried after a failure above records the event
	// for them once.
	if rep.Woken, err = e.wakeJourneys(ctx, cust.ID, env.Event); err != nil {
		return rep, err
	}
	return rep, nil
}

// planEvent writes the ledger row of one event-triggered campaign for one
// customer, exactly as a run does for each of its customers (holdout, consent,
// suppressions, caps, SMS quiet hours), due at at: the event time plus the
// trigger's delay.
func (e *Engine) planEvent(ctx context.Context, c *campaigns.Campaign, cd candidate, eventID string, at, now time.Time) error {
	cd.sendAt, cd.eventID = at, eventID
	if c.Journey != nil { // a journey's send steps have their own times: the entry is due at once
		return e.enterJourney(ctx, c, []candidate{cd}, now, map[string]int{})
	}
	return e.decide(ctx, c, 0, []candidate{cd}, now, map[string]int{})
}

// eventFor rebuilds the rule/template view of a stored event.
func (e *Engine) eventFor(ctx context.Context, eventID string, customerID int64) (rules.Event, error) {
	row, err := e.st.InboxEvent(ctx, eventID)
	if err != nil {
		return rules.Event{}, fmt.Errorf("load event %s: %w", eventID, err)
	}
	ev, err := reactionOf(row)
	if err != nil {
		return rules.Event{}, fmt.Errorf("stored event %s: %w", eventID, err)
	}
	out := ev.rules
	if ev.orderID != "" {
		if out.FirstOrder, err = e.st.IsFirstOrder(ctx, customerID, ev.orderID); err != nil {
			return rules.Event{}, err
		}
	}
	return out, nil
}

// emitConversion reports a purchase to the outgoing webhooks as the
// conversion of the customer's last message before it, when that message's
// campaign's attribution window covers it (the report's last touch, among
// sent messages). Once per order, however often the event is processed.
func (e *Engine) emitConversion(ctx context.Context, cust *store.Customer, ev *reaction) error {
	if ev.orderID == "" || !e.st.Hooked(store.HookConversion) {
		return nil
	}
	t, err := e.st.LastSentBefore(ctx, cust.ID, ev.at)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	c, ok := e.Campaign(t.Campaign)
	if !ok || ev.at.Sub(t.SentAt) > c.AttributionWindow {
		return nil
	}
	props := ev.rules.Properties
	return e.st.EmitHook(ctx, store.HookEvent{Type: store.HookConversion, Key: ev.orderID, CustomerID: cust.ID, At: ev.at,
		Data: map[string]any{"campaign": t.Campaign, "delivery_id": t.DeliveryID, "variant": t.Variant,
			"customer": cust.ExternalID, "order_id": ev.orderID, "amount": props["amount"], "currency": props["currency"]}})
}
