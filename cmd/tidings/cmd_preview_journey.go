package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// previewJourney prints the path the customer would take through journey
// c from env.Now: each step, why the way goes on where it does, the waits'
// wake times in the customer's zone and the send steps' messages.
func (a *app) previewJourney(c *campaigns.Campaign, cust *store.Customer, env *rules.Env, o previewOptions) error {
	w := a.stdout
	loc, src := campaigns.CustomerLocation(cust.TimeZone, cust.Phone, a.cfg.Location())
	if worker.InHoldout(c, cust.ID) {
		fmt.Fprintf(w, "holdout: customer %s is in the control group: they never enter; the path is the one they would take\n", cust.ExternalID)
	}
	occurrence := c.Occurrence.Key(env.Now, loc, "preview")
	fmt.Fprintf(w, "path from %s, zone %s (%s), occurrence %s;\n", localTime(env.Now, loc), loc, src, occurrence)
	fmt.Fprintln(w, "assuming every message the customer can receive is sent and no purchase or exit_on event comes:")
	n := 0
	_, err := c.Journey.Path(campaigns.PathOptions{
		Env: env, Location: loc, Customer: cust.ID, Occurrence: occurrence,
		Sent:    func(s *campaigns.Step) bool { return worker.Reachable(s.Send.Message, env) != "" },
		Refresh: func(time.Time) { worker.FillEnv(env, cust) },
		Visit: func(ps campaigns.PathStep) error {
			n++
			fmt.Fprintf(w, "\n%d. %s (%s) at %s: %s\n", n, ps.Step.ID, ps.Step.Kind, localTime(ps.At, loc), stepLine(ps, loc, env))
			if ps.Step.Kind == campaigns.StepSend {
				if err := a.renderStep(ps.Step.Send.Message, cust, env, o); err != nil {
					return err
				}
			}
			printThen(w, ps, loc)
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("preview %s: %w", c.ID, err)
	}
	return nil
}

// stepLine says what a step does for this customer.
func stepLine(ps campaigns.PathStep, loc *time.Location, env *rules.Env) string {
	s := ps.Step
	switch s.Kind {
	case campaigns.StepSend:
		if ch := worker.Reachable(s.Send.Message, env); ch != "" {
			return "sent by " + string(ch)
		}
		return fmt.Sprintf("not sent: the customer cannot receive %s (consent and an address); planning records it as suppressed",
			joinChannels(s.Send.Message.Channels))
	case campaigns.StepWait:
		return fmt.Sprintf("wait %s, wakes %s", s.Wait, localTime(ps.WakeAt, loc))
	case campaigns.StepWaitFor:
		return fmt.Sprintf("wait for %s, up to %s", s.WaitFor.EventFilter, campaigns.FormatDuration(s.WaitFor.Timeout))
	case campaigns.StepUpdate:
		return updateLine(s.Update)
	case campaigns.StepExit:
		return "leaves the journey, reason " + s.Exit.Reason
	}
	return ps.Then.Why // branch, split
}

// printThen says where the customer goes after the step.
func printThen(w io.Writer, ps campaigns.PathStep, loc *time.Location) {
	s, t := ps.Step, ps.Then
	switch {
	case s.Kind == campaigns.StepWaitFor:
		fmt.Fprintf(w, "   on a matching event by %s: %s\n   on timeout: %s\n", localTime(ps.WakeAt, loc),
			stepOrEnd(s.WaitFor.OnEvent), stepOrEnd(s.WaitFor.OnTimeout))
		fmt.Fprintln(w, "preview stops here: the way on depends on what the customer does")
	case s.Kind == campaigns.StepExit:
	case t.Exits():
		fmt.Fprintf(w, "   then: end of the journey (%s)\n", t.Exit)
	default:
		fmt.Fprintf(w, "   then: %s\n", t.To)
	}
}

func stepOrEnd(id string) string {
	if id == "" {
		return "end of the journey (" + campaigns.ExitCompleted + ")"
	}
	return id
}

// renderStep renders a send step's message on the channel that would carry
// it (the first of its channels when none would), or on --channel.
func (a *app) renderStep(msg *campaigns.Campaign, cust *store.Customer, env *rules.Env, o previewOptions) error {
	ch := worker.Reachable(msg, env)
	if !slices.Contains(msg.Channels, ch) {
		ch = msg.Channels[0]
	}
	if o.channel != "" {
		if !slices.Contains(msg.Channels, campaigns.Channel(o.channel)) {
			return nil
		}
		ch = campaigns.Channel(o.channel)
	}
	if !slices.ContainsFunc(msg.Variants, func(v campaigns.Variant) bool { return v.ID == o.variant }) {
		o.variant = "" // --variant names another step's variant
	}
	return a.render(msg, cust, env, o, []campaigns.Channel{ch})
}

func updateLine(u *campaigns.UpdateStep) string {
	var parts []string
	if len(u.Tag) > 0 {
		parts = append(parts, "tag "+strings.Join(u.Tag, ", "))
	}
	if len(u.Untag) > 0 {
		parts = append(parts, "untag "+strings.Join(u.Untag, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(u.Attributes)) {
		if v := u.Attributes[k]; v != nil {
			parts = append(parts, fmt.Sprintf("set %s = %v", k, v))
		} else {
			parts = append(parts, "remove "+k)
		}
	}
	return strings.Join(parts, "; ")
}

func joinChannels(chs []campaigns.Channel) string {
	s := make([]string, len(chs))
	for i, ch := range chs {
		s[i] = string(ch)
	}
	return strings.Join(s, " or ")
}

// localTime writes t on the wall clock of loc, with its offset's name.
func localTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2006-01-02 15:04 MST")
}
