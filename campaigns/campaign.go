package campaigns

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/rules"
)

// Campaign is one validated, compiled campaign file: its audience rule and
// message templates are compiled once at load and shared by every customer.
// A Campaign is read-only after Parse and safe for concurrent use.
type Campaign struct {
	ID          string
	Name        string
	Description string
	Status      Status
	// File is the path the campaign was loaded from.
	File string

	Trigger  Trigger
	Audience *rules.Program
	// Channels is the fallback order: the first channel the customer can
	// receive (consent, address, not suppressed) is used.
	Channels  []Channel
	Recipient Recipient
	// Offer holds the free-form `offer` strings, available as .offer.<key>.
	Offer map[string]string
	// Survey is the message's satisfaction question (survey:); nil for none.
	Survey *Survey
	// Holdout is the share of the audience kept as a control group, in [0, 1).
	Holdout float64
	// Topic is the topic the campaign's messages belong to (one of
	// Settings.Topics): customers who left it are skipped. "" for none.
	Topic      string
	Variants   []Variant
	Frequency  Frequency
	Occurrence Occurrence
	// ExitOn lists the types of the events that end a customer's
	// participation ("purchase"); Exits has each with its filter.
	ExitOn []string
	// Exits are exit_on's entries: an event of the type that passes the
	// filter cancels the customer's messages not sent yet (and ends a
	// journey).
	Exits             []EventFilter
	AttributionWindow time.Duration
	// ResendUnknown allows resending a delivery whose outcome is unknown
	// after a crash (default false: a duplicate is worse than a miss).
	ResendUnknown bool
	// Late says what becomes of a message that cannot go out at its planned
	// time: sent late up to a deadline, or expired with the planned day.
	Late Late
	// Tracking turns on open and click measurement of the emails (off by
	// default).
	Tracking Tracking
	// Journey is set when the file has `steps:` instead of `messages:`; its
	// send steps carry the messages (Channels, Variants and Offer are then
	// empty here).
	Journey *Journey

	messages *messageSet
	idPos    pos
	// journeyStep marks a journey's send step (SendStep.Message), whose
	// templates read .journey.
	journeyStep bool
	// readsTopics: a rule calls subscribed() (ReadsTopics).
	readsTopics bool
}

// IsJourneyStep reports whether c is the message of a journey's send step
// (its times are the journey's, not its trigger's).
func (c *Campaign) IsJourneyStep() bool { return c.journeyStep }

// Status says whether the scheduler fires a campaign.
type Status string

const (
	// StatusActive campaigns fire (the default).
	StatusActive Status = "active"
	// StatusPaused campaigns load and validate but never fire.
	StatusPaused Status = "paused"
)

// Channel names a delivery channel. It is channels.Name, so a campaign's
// channels and the worker's adapters are keyed by one type.
type Channel = channels.Name

// The channels a campaign may name (channels.Email, channels.SMS,
// channels.Webhook).
const (
	// Email is delivered over SMTP.
	Email = channels.Email
	// SMS is delivered through an SMS provider.
	SMS = channels.SMS
	// Webhook is posted as signed JSON to a URL of an allowed host, for
	// team alerts (recipient: team).
	Webhook = channels.Webhook
)

// TriggerKind names the one trigger a campaign has.
type TriggerKind string

// The trigger kinds, as spelled in the `trigger` mapping.
const (
	TriggerSchedule   TriggerKind = "schedule"
	TriggerBirthday   TriggerKind = "birthday"
	TriggerInactivity TriggerKind = "inactivity"
	TriggerChurnRisk  TriggerKind = "churn_risk"
	TriggerEvent      TriggerKind = "event"
	// TriggerAPI campaigns are sent one message at a time by POST /v1/send
	// (receipts, password resets), never by the scheduler; their templates
	// read the request's data as .data.
	TriggerAPI TriggerKind = "api"
)

// Trigger says when a campaign fires. Exactly one of the pointers matching
// Kind is set.
type Trigger struct {
	Kind       TriggerKind
	Schedule   *ScheduleTrigger
	Birthday   *BirthdayTrigger
	Inactivity *InactivityTrigger
	ChurnRisk  *ChurnRiskTrigger
	Event      *EventTrigger
}

// ScheduleTrigger fires on a cron schedule read on the wall clock of a fixed
// time zone (cron.go: its firings, their instants and occurrence keys).
type ScheduleTrigger struct {
	Cron     string
	TimeZone string
	Location *time.Location
	// spec is the parsed cron expression, matched on Location's wall clock.
	spec *cron.SpecSchedule
}

// BirthdayTrigger fires on each customer's birthday at At in their own zone.
type BirthdayTrigger struct {
	At ClockTime
}

// InactivityTrigger selects customers who have not bought for a while: at
// least Days days since their last purchase and, when GapMultiplier > 0, at
// least GapMultiplier times their own average gap between purchases.
type InactivityTrigger struct {
	Days          int
	GapMultiplier float64
	At            ClockTime
}

// Matches reports whether the customer is inactive by this trigger's
// definition. Customers who never bought do not match.
func (t *InactivityTrigger) Matches(env *rules.Env) bool {
	d := env.DaysSinceLastPurchase
	if d < 0 || d < t.Days {
		return false
	}
	if t.GapMultiplier > 0 && env.AvgDaysBetweenPurchases > 0 {
		return float64(d) >= t.GapMultiplier*env.AvgDaysBetweenPurchases
	}
	return true
}

// ChurnRiskTrigger fires daily at At for customers matching Rule.
type ChurnRiskTrigger struct {
	Rule *rules.Program
	At   ClockTime
}

// EventTrigger fires Delay after an event of Type (e.g. "purchase").
type EventTrigger struct {
	// EventFilter is the type (Event) and the rule over the event and
	// the customer (Where, nil: every event of the type).
	EventFilter
	Delay time.Duration
}

// ClockTime is a local time of day (HH:MM), applied in the customer's zone.
type ClockTime struct {
	Hour, Minute int
}

// Recipient says who receives the messages: the customer (Team == nil) or an
// internal team, for alerts about the customer.
type Recipient struct {
	Team *Team
}

// IsCustomer reports whether messages go to the customer themself.
func (r Recipient) IsCustomer() bool { return r.Team == nil }

// Team holds the internal addresses alerts go to (a webhook alert's URL is
// in its messages: messages.webhook.url).
type Team struct {
	Email string
	SMS   string
}

// Variant is one arm of an A/B test; its messages override the campaign's.
type Variant struct {
	ID     string
	Weight float64
}

// Frequency places a campaign in the cross-campaign frequency caps.
type Frequency struct {
	Class    Class
	Priority int
}

// Capped reports whether the campaign is promotional: the ledger records it
// (capped_class), so a message of a campaign no longer loaded still counts
// against the promotional caps. Every class has caps of its own (Policy).
func (f Frequency) Capped() bool { return f.Class == ClassPromotional }

// Class is the frequency class of a campaign.
type Class string

// The frequency classes.
const (
	ClassPromotional   Class = "promotional"
	ClassTransactional Class = "transactional"
	ClassAlert         Class = "alert"
)

// ChooseVariant maps u, a stable uniform number in [0, 1) for the customer,
// to a variant id by weight; "" when the campaign has no variants.
func (c *Campaign) ChooseVariant(u float64) string {
	i := pickWeighted(u, len(c.Variants), func(i int) float64 { return c.Variants[i].Weight })
	if i < 0 {
		return ""
	}
	return c.Variants[i].ID
}
