package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// A survey answer (a click on a signed answer link, an SMS reply with a
// score) is an inbound event like those of /v1/events: Answers writes it
// to the events log through the same inbox, with its survey row and the
// customer's latest score in the same transaction, then enqueues its
// reaction, so event-triggered campaigns (a detractor alert) and journeys
// waiting for it (wait_for: {event: nps_answered}) hear it.

// AnswerStore is what Answers needs from the database; *store.Store
// satisfies it.
type AnswerStore interface {
	AnswerSurvey(ctx context.Context, ans store.SurveyAnswer, event func(revision int) store.InboxEvent) (store.AnswerResult, error)
}

// Answers records survey answers.
type Answers struct {
	Store   AnswerStore
	Reactor Reactor // nil: no reaction is enqueued
	Logger  *slog.Logger
}

// Answer is one answer to record: the message it answers and its score.
type Answer struct {
	DeliveryID int64
	Campaign   string
	Kind       campaigns.SurveyKind
	Score      int
	Via        string // "link" or "sms"
	At         time.Time
	// Customer is the customer's id and external id (the events log's
	// customer).
	CustomerID int64
	ExternalID string
}

// Record stores a and enqueues its reaction. A repeat of the message's
// current score changes nothing (Changed false); a new score replaces the
// old one and is a new event.
func (r Answers) Record(ctx context.Context, a Answer) (store.AnswerResult, error) {
	if !a.Kind.Valid(a.Score) {
		return store.AnswerResult{}, fmt.Errorf("survey answer: score %d is not on the %s scale", a.Score, a.Kind)
	}
	res, err := r.Store.AnswerSurvey(ctx, store.SurveyAnswer{DeliveryID: a.DeliveryID, CustomerID: a.CustomerID,
		CampaignID: a.Campaign, Kind: string(a.Kind), Score: a.Score, Via: a.Via, At: a.At},
		func(revision int) store.InboxEvent { return a.event(revision) })
	if err != nil || !res.Changed || r.Reactor == nil {
		return res, err
	}
	if err := r.Reactor.EnqueueEvent(context.WithoutCancel(ctx), res.EventID); err != nil && r.Logger != nil {
		r.Logger.Warn("survey: reaction not enqueued; events replay will process it", "event", res.EventID, "err", err)
	}
	return res, nil
}

// SurveyProperties are an answer event's properties (event.properties.* in
// rules): the score, its class (promoter, passive, detractor), the campaign
// and delivery it answers, and how it came (link, sms).
type SurveyProperties struct {
	Score    int    `json:"score"`
	Class    string `json:"class"`
	Campaign string `json:"campaign"`
	Delivery int64  `json:"delivery"`
	Via      string `json:"via"`
}

// event is the answer as an event of the log, built like one of /v1/events.
func (a Answer) event(revision int) store.InboxEvent {
	props, _ := json.Marshal(SurveyProperties{Score: a.Score, Class: a.Kind.Class(a.Score), Campaign: a.Campaign,
		Delivery: a.DeliveryID, Via: a.Via})
	ev := &AnyEvent{ID: store.SurveyEventID(a.DeliveryID, revision), Type: a.Kind.EventType(), Customer: a.ExternalID,
		Time: a.At.UTC(), Properties: props}
	in, _ := ev.inboxEvent("", a.At.UTC()) // not a purchase: it cannot fail
	return in
}
