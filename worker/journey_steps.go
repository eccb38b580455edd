package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
)

// walk is one customer's pass through a journey: from the step the state
// is at, steps run back to back until one waits, the customer exits, or
// maxStepsPerPass is reached. Only send and update steps write outside the
// state (a ledger row, the profile), and both are idempotent: a pass that
// crashes before its move commits is run again from the same step and
// visit, and the ledger's unique key keeps the send once.
type walk struct {
	e      *Engine
	c      *campaigns.Campaign
	s      *store.JourneyState
	cust   *store.Customer // nil: deleted
	events []store.StoredJourneyEvent
	now    time.Time
	// sends plans the walk's send steps with the batch's; move is the
	// index the walk's move will have in the batch, nth counts its sends.
	sends     *stepSends
	move, nth int

	m   store.JourneyMove
	env *rules.Env
	loc *time.Location
}

func (w *walk) run(ctx context.Context) (store.JourneyMove, error) {
	j, s := w.c.Journey, w.s
	w.m = store.JourneyMove{StateID: s.ID, Token: s.LeaseToken, Step: s.Step, Visit: s.Visit, Status: s.Status,
		StepSince: s.StepSince, WaitEvent: s.WaitEvent, Arm: s.Arm, Version: journeyVersion(j), ExitEvents: w.c.ExitOn}
	if s.WakeAt != nil {
		w.m.WakeAt = *s.WakeAt
	}
	for _, ev := range w.events {
		w.m.EventsRead = max(w.m.EventsRead, ev.ID)
	}
	if w.cust == nil {
		return w.exit("customer_deleted"), nil
	}
	w.env = rules.NewEnv(w.e.opts.DefaultLoc)
	w.env.Now = w.now
	FillEnv(w.env, w.cust)
	if err := GiveOptOuts(ctx, w.e.st, w.env, w.cust.ID, w.c.ReadsTopics()); err != nil {
		return w.m, err
	}
	w.loc = w.e.candidateOf(w.cust).loc
	if reason, err := w.exitOn(); err != nil || reason != "" {
		return w.exit(reason), err
	}
	for range maxStepsPerPass {
		step := j.Step(w.m.Step)
		if step == nil {
			return w.exit(store.ExitStepRemoved), nil
		}
		out := campaigns.Outcome{Env: w.env, Customer: s.CustomerID, Occurrence: s.Occurrence}
		taken := store.JourneyStep{Step: step.ID, Visit: w.m.Visit}
		switch step.Kind {
		case campaigns.StepWait, campaigns.StepWaitFor:
			waiting, event, err := w.wait(step)
			if err != nil || waiting {
				return w.m, err
			}
			out.Event = event
		case campaigns.StepSend:
			w.send(step, len(w.m.Taken))
		case campaigns.StepUpdate:
			if err := w.update(ctx, step.Update); err != nil {
				return w.m, err
			}
		case campaigns.StepBranch:
			if err := w.fillJourney(ctx, step.Branch); err != nil {
				return w.m, err
			}
		}
		t, err := j.Next(step, out)
		if err != nil {
			return w.m, err
		}
		if t.Arm != "" {
			w.m.Arm = t.Arm
		}
		taken.Outcome = t.To
		if t.Exits() {
			taken.Outcome = "exit:" + t.Exit
		}
		w.m.Taken = append(w.m.Taken, taken)
		if t.Exits() {
			return w.exit(t.Exit), nil
		}
		w.m.Step, w.m.Visit, w.m.Status, w.m.StepSince = t.To, w.m.Visit+1, store.JourneyActive, w.now
		w.m.WakeAt, w.m.WaitEvent = time.Time{}, ""
	}
	return w.m, nil // still active: due again at once, in the next pass
}

// exit ends the journey with reason.
func (w *walk) exit(reason string) store.JourneyMove {
	w.m.Status, w.m.ExitReason, w.m.WakeAt, w.m.WaitEvent = store.JourneyDone, reason, time.Time{}, ""
	return w.m
}

// wait handles a wait or wait_for step: on arrival it computes the wake
// time (a wait_for's deadline) and waits; later it reports whether the
// customer still waits, and for a wait_for whether a matching event came in
// time. An event counts when it happened after the customer reached the
// step and at or before the deadline (campaigns.WaitForStep.InTime): with
// the sweep and the event's wake both serialised on the state's lease, a
// tie with the timeout takes exactly one outcome.
func (w *walk) wait(step *campaigns.Step) (waiting, event bool, err error) {
	arriving := w.m.Status == store.JourneyActive
	if step.Kind == campaigns.StepWait {
		if arriving {
			w.m.Status, w.m.WakeAt = store.JourneyWaiting, step.Wait.WakeAt(w.m.StepSince, w.loc)
		}
		return w.m.WakeAt.After(w.now), false, nil
	}
	wf := step.WaitFor
	if arriving {
		w.m.Status, w.m.WakeAt, w.m.WaitEvent = store.JourneyWaiting, wf.Deadline(w.m.StepSince), wf.Event
		return true, false, nil
	}
	for _, ev := range w.events {
		if !ev.At.After(w.m.StepSince) || !wf.InTime(ev.At, w.m.StepSince) {
			continue
		}
		ok, err := w.matches(wf.EventFilter, ev)
		if err != nil || ok {
			return false, ok, err
		}
	}
	return wf.Deadline(w.m.StepSince).After(w.now), false, nil
}

// exitOn returns the reason (the event's type) when an event that happened
// since entry matches one of the journey's exit_on filters.
func (w *walk) exitOn() (string, error) {
	for _, ev := range w.events {
		if ev.At.Before(w.s.EnteredAt) {
			continue
		}
		for _, f := range w.c.Journey.ExitOn {
			ok, err := w.matches(f, ev)
			if err != nil {
				return "", err
			}
			if ok {
				return f.Event, nil
			}
		}
	}
	return "", nil
}

// matches checks an event against a filter, the event in the rule
// environment as event.*.
func (w *walk) matches(f campaigns.EventFilter, ev store.StoredJourneyEvent) (bool, error) {
	w.env.Event = rulesEventOf(ev.JourneyEvent)
	defer func() { w.env.Event = rules.Event{} }()
	ok, err := f.Matches(w.env)
	if err != nil {
		return false, fmt.Errorf("filter %s: %w", f, err)
	}
	return ok, nil
}

// send queues the send step's ledger row for the batch's plan
// (stepSends), which writes it through the same planning as a one-message
// campaign (holdout was decided at entry; consent, suppressions, caps,
// quiet hours and the contact policy apply now) under the step's occurrence
// key, before the move commits, and fills in the row's status ("existing"
// when a previous pass wrote it). taken is the step's index in the move.
func (w *walk) send(step *campaigns.Step, taken int) {
	cd := w.e.candidateOf(w.cust)
	cd.occurrence = stepOccurrence(w.s.Occurrence, step.ID, w.m.Visit)
	cd.sendAt, cd.eventID = w.now, w.s.EventID
	w.sends.add(step, cd, w.move, taken, w.nth)
	w.nth++
}

// update applies an update step to the customer's profile. Tags are
// re-read with the customer at the start of the pass, so a concurrent tag
// change of the same customer may be overwritten by this one.
func (w *walk) update(ctx context.Context, u *campaigns.UpdateStep) error {
	in := store.CustomerInput{ExternalID: w.cust.ExternalID, Attributes: u.Attributes}
	if len(u.Tag)+len(u.Untag) > 0 {
		tags := slices.DeleteFunc(slices.Clone(w.cust.Tags), func(t string) bool { return slices.Contains(u.Untag, t) })
		for _, t := range u.Tag {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		in.Tags, w.cust.Tags = tags, tags
	}
	if _, err := w.e.st.UpsertCustomers(ctx, []store.CustomerInput{in}); err != nil {
		return fmt.Errorf("update step: %w", err)
	}
	w.env.Tags = w.cust.Tags
	return nil
}

// fillJourney fills env.Journey for the branch rules: entry, arm, and
// when a rule reads journey, purchases since entry and the send steps'
// ledger statuses.
func (w *walk) fillJourney(ctx context.Context, b *campaigns.BranchStep) error {
	if !slices.ContainsFunc(b.Cases, func(c campaigns.BranchCase) bool { return strings.Contains(c.If.Source(), "journey") }) {
		w.env.Journey = rules.Journey{EnteredAt: w.s.EnteredAt, Arm: w.m.Arm} // no rule reads the rest: no queries
		return nil
	}
	f, err := w.e.st.JourneyFactsOf(ctx, w.c.ID, w.s.CustomerID, w.s.Occurrence, w.s.EnteredAt)
	if err != nil {
		return err
	}
	w.env.Journey = journeyFacts(w.s.EnteredAt, w.m.Arm, f)
	return nil
}

// journeyFacts is rules.Journey from the store's facts.
func journeyFacts(entered time.Time, arm string, f store.JourneyFacts) rules.Journey {
	return rules.Journey{EnteredAt: entered, Arm: arm, Purchases: f.Purchases, Revenue: float64(f.RevenueCents) / 100,
		Sent: func(step string) bool { return f.Sends[step] == store.StatusSent }}
}

// fillJourneyOf fills env.Journey for the templates of a journey send
// step's ledger row (.journey.entered_at, .journey.arm, .journey.purchases,
// .journey.revenue); other rows are left alone.
func (e *Engine) fillJourneyOf(ctx context.Context, env *rules.Env, d *store.Delivery) error {
	c, ok := e.Campaign(d.CampaignID)
	i := strings.LastIndex(d.Occurrence, "/")
	if !ok || c.Journey == nil || i < 0 {
		return nil
	}
	occ := d.Occurrence[:i]
	s, err := e.st.JourneyStateOf(ctx, c.ID, d.CustomerID, occ)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	f, err := e.st.JourneyFactsOf(ctx, c.ID, d.CustomerID, occ, s.EnteredAt)
	if err != nil {
		return err
	}
	env.Journey = journeyFacts(s.EnteredAt, s.Arm, f)
	return nil
}
