package worker

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// Journeys (docs/journeys.md): entry here, the sweep that advances waiting
// customers in journey_sweep.go, each step's work in journey_steps.go. A
// journey enters customers through the triggers a campaign fires by (runs
// and their shards, events), so everything about who is due and in the
// audience is shared; where a campaign writes a ledger row, a journey writes
// a journey_states row, and its send steps write the ledger rows later.

// stepOccurrence is the ledger occurrence of a journey's send step: the
// journey occurrence, the step and its visit. The ledger's unique key
// (campaign, customer, occurrence) then holds each send step to once per
// (journey, customer, occurrence, step, visit), whatever crashes happen.
func stepOccurrence(occurrence, step string, visit int) string {
	return fmt.Sprintf("%s/%s#%d", occurrence, step, visit)
}

// stepOfOccurrence returns the step id of a journey send's ledger
// occurrence (step ids are slugs: the last "/" starts it).
func stepOfOccurrence(occurrence string) (string, bool) {
	i, j := strings.LastIndex(occurrence, "/"), strings.LastIndex(occurrence, "#")
	if i < 0 || j < i {
		return "", false
	}
	return occurrence[i+1 : j], true
}

// messageOf returns the campaign a ledger row is planned, rendered and sent
// as: its campaign, or for a journey's row the send step's message (not
// found when the step was removed from the file since).
func (e *Engine) messageOf(d *store.Delivery) (*campaigns.Campaign, bool) {
	c, ok := e.Campaign(d.CampaignID)
	if !ok || c.Journey == nil {
		return c, ok
	}
	id, _ := stepOfOccurrence(d.Occurrence)
	if s := c.Journey.Step(id); s != nil && s.Kind == campaigns.StepSend {
		return s.Send.Message, true
	}
	return nil, false
}

// journeyVersion names the shape of a journey (its steps and their
// successors), recorded on each state as it advances: an edit of the file
// shows as a new version in the states it moves.
func journeyVersion(j *campaigns.Journey) string {
	h := fnv.New64a()
	for _, s := range j.Steps {
		fmt.Fprintf(h, "%s:%s>%s;", s.ID, s.Kind, strings.Join(j.Successors(s), ","))
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// enterJourney writes the entries of a batch of matching customers: each
// enters at the first step (due at once), or as the journey's holdout,
// unless inside the journey already or, for `once per N days`, out of it
// for less than N days. counts gets "entered", "holdout", "existing" and
// "skipped_recent".
func (e *Engine) enterJourney(ctx context.Context, c *campaigns.Campaign, batch []candidate, now time.Time, counts map[string]int) error {
	recent := map[int64]bool{}
	if lb := c.Occurrence.Lookback(); lb > 0 {
		ids := make([]int64, len(batch))
		for i, cd := range batch {
			ids[i] = cd.id
		}
		var err error
		if recent, err = e.st.RecentJourneyCustomers(ctx, c.ID, ids, now.Add(-lb)); err != nil {
			return err
		}
	}
	var entered, held []store.JourneyEntry
	for _, cd := range batch {
		if recent[cd.id] {
			counts["skipped_recent"]++
			continue
		}
		in := store.JourneyEntry{JourneyID: c.ID, CustomerID: cd.id, Occurrence: cd.occurrence,
			Step: c.Journey.First().ID, Version: journeyVersion(c.Journey), EventID: cd.eventID, ExitEvents: c.ExitOn}
		if InHoldout(c, cd.id) {
			in.Holdout = true
			held = append(held, in)
			continue
		}
		entered = append(entered, in)
	}
	for _, part := range []struct {
		key  string
		rows []store.JourneyEntry
	}{{"entered", entered}, {"holdout", held}} {
		n, err := e.st.EnterJourney(ctx, part.rows, now)
		if err != nil {
			return err
		}
		counts[part.key] += n
		counts["existing"] += len(part.rows) - n
	}
	if counts["entered"] > 0 {
		e.pokeJourneys()
	}
	return nil
}

// pokeJourneys asks this process's journey sweeper for a pass now (new
// entries, a woken wait): a customer need not wait for the next interval.
func (e *Engine) pokeJourneys() {
	select {
	case e.journeyPoke <- struct{}{}:
	default:
	}
}

// SurveyOf is the survey a delivery's message asked (a campaign's, or its
// journey step's), or nil: what an SMS reply to it answers.
func (e *Engine) SurveyOf(d *store.Delivery) *campaigns.Survey {
	c, ok := e.messageOf(d)
	if !ok || c == nil {
		return nil
	}
	return c.Survey
}
