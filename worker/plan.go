package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
)

// candidate is what planning keeps of a matching customer: the stream reuses
// its row, so the few fields needed are copied.
type candidate struct {
	id             int64
	email, phone   string
	emailOK, smsOK bool
	loc            *time.Location
	zone           campaigns.ZoneSource // where loc came from (ZoneDefault: the zone is unknown)
	occurrence     string
	sendAt         time.Time // when to send; zero: the trigger's local time (or now)
	eventID        string    // the triggering event, for event campaigns
}

// planBatch is how many matching customers are decided together: one query
// for their suppressions, one for their recent deliveries, one insert.
const planBatch = 500

// planAudience evaluates the shard's customers and writes one ledger row per
// matching customer, then enqueues the sends. It returns counts by status.
func (e *Engine) planAudience(ctx context.Context, c *campaigns.Campaign, run *store.Run, p ShardPayload) (map[string]int, error) {
	counts := map[string]int{}
	if p.Hi <= p.Lo {
		return counts, nil
	}
	now := e.now()
	e.warnStaleScores(ctx, c, now, p)
	// Candidates are collected while streaming and decided after the stream
	// has released its connection: deciding needs the database too, and a
	// stream holding one connection while waiting for another deadlocks once
	// enough shards run at once. Memory is bounded by the shard size.
	//
	// The customers are read from the read replica when there is one
	// (store.Read): a replica that lags shows fewer customers, or older
	// consents, and both are harmless, since what decides is read and
	// written on the primary (the ledger's unique key, the suppressions,
	// recent deliveries; the claim checks consent again before the send).
	// A replica that fails mid-stream makes the shard read again from the
	// primary, from scratch.
	var (
		matched []candidate
		stats   AudienceStats
	)
	err := e.st.Read(ctx, func(rd *store.Store) error {
		matched = matched[:0]
		var err error
		stats, err = Audience(ctx, rd, c, AudienceOptions{Now: now, DefaultLoc: e.opts.DefaultLoc, AfterID: p.Lo, UpToID: p.Hi, Lean: true},
			func(env *rules.Env, cust *store.Customer) error {
				cd := e.candidateOf(cust)
				runKey := run.Occurrence
				if campaigns.Daily(c) {
					runKey = now.In(cd.loc).Format("2006-01-02") // at most once per customer per local day
				}
				cd.occurrence = c.Occurrence.Key(now, cd.loc, runKey)
				matched = append(matched, cd)
				return nil
			})
		return err
	})
	if err != nil {
		return nil, err
	}
	for len(matched) > 0 {
		k := min(len(matched), planBatch)
		if c.Journey != nil {
			err = e.enterJourney(ctx, c, matched[:k], now, counts)
		} else {
			err = e.decide(ctx, c, run.ID, matched[:k], now, counts)
		}
		if err != nil {
			return nil, err
		}
		matched = matched[k:]
	}
	counts["evaluated"] = stats.Evaluated
	counts["matched"] = stats.Matched
	counts["rule_errors"] = stats.Errors
	return counts, nil
}

// candidateOf copies what planning needs of a customer, with the zone their
// local times are computed in.
func (e *Engine) candidateOf(cust *store.Customer) candidate {
	loc, zone := campaigns.CustomerLocation(cust.TimeZone, cust.Phone, e.opts.DefaultLoc)
	return candidate{id: cust.ID, email: cust.Email, phone: cust.Phone,
		emailOK: cust.EmailConsent, smsOK: cust.SMSConsent, loc: loc, zone: zone}
}

// contact is what the policy needs of a customer: zone, whether it is known,
// and (when a rule depends on it) where their number is registered.
func contact(pol *campaigns.Policy, loc *time.Location, zone campaigns.ZoneSource, phone string) campaigns.Contact {
	to := campaigns.Contact{Loc: loc, ZoneKnown: zone != campaigns.ZoneDefault}
	if pol.ByPlace() {
		to.Place = campaigns.PhonePlace(phone)
	}
	return to
}

// decide turns a batch of matching customers into ledger rows: holdout,
// channel by consent, address and suppressions, the contact policy's
// frequency caps with priority, the trigger's local time, and the policy's
// quiet hours and blackout dates.
func (e *Engine) decide(ctx context.Context, c *campaigns.Campaign, runID int64, batch []candidate, now time.Time, counts map[string]int) error {
	_, err := e.decideEach(ctx, c, runID, batch, now, counts)
	return err
}

// decideEach is decide, also returning what became of each customer of the
// batch: the status their row was written with, "existing" when the row
// was there already, "skipped_recent" when none was written.
func (e *Engine) decideEach(ctx context.Context, c *campaigns.Campaign, runID int64, batch []candidate, now time.Time,
	counts map[string]int) (map[int64]store.Status, error) {
	pol := e.Policy() // one policy for the whole batch, even if it is reloaded meanwhile
	sup, err := e.suppressed(ctx, batch)
	if err != nil {
		return nil, err
	}
	left, err := e.optedOut(ctx, c, batch)
	if err != nil {
		return nil, err
	}
	recent, err := e.recent(ctx, c, batch, now, pol)
	if err != nil {
		return nil, err
	}
	each := make(map[int64]store.Status, len(batch))
	rows := make([]store.NewDelivery, 0, len(batch))
	for _, cd := range batch {
		if recent.sentWithin(cd.id, c.ID) {
			counts["skipped_recent"]++
			each[cd.id] = "skipped_recent"
			continue
		}
		each[cd.id] = "existing"
		rows = append(rows, e.planRow(c, cd, runID, sup, left[cd.id], recent, now, pol))
	}
	if err := e.cancelDisplaced(ctx, c, recent, now); err != nil {
		return nil, err
	}
	inserted, err := e.st.InsertDeliveries(ctx, rows, now)
	if err != nil {
		return nil, err
	}
	counts["existing"] += len(rows) - len(inserted)
	var due []int64
	for _, in := range inserted {
		counts[string(in.Status)]++
		each[in.CustomerID] = in.Status
		switch {
		case in.Status == store.StatusDeferred && in.NotBefore != nil:
			e.enqueueOrWarn(e.q.Deliver(ctx, in.ID, *in.NotBefore), in.ID)
		case in.Status == store.StatusPending:
			due = append(due, in.ID)
		}
	}
	for len(due) > 0 {
		k := min(len(due), deliverBatch)
		e.enqueueOrWarn(e.q.DeliverBatch(ctx, due[:k]), due[0])
		due = due[k:]
	}
	return each, nil
}

// planRow is the ledger row of one customer of a batch: channel by
// consent, address and suppressions, the policy's caps for the campaign's
// class with priority, then its send time, quiet hours and blackout dates.
func (e *Engine) planRow(c *campaigns.Campaign, cd candidate, runID int64, sup suppressions, left bool, recent *recentSet,
	now time.Time, pol *campaigns.Policy) store.NewDelivery {
	row := store.NewDelivery{CampaignID: c.ID, CustomerID: cd.id, Occurrence: cd.occurrence, RunID: runID,
		EventID: cd.eventID, Priority: c.Frequency.Priority, CappedClass: c.Frequency.Capped()}
	e.route(c, cd, sup, left, &row)
	to := contact(pol, cd.loc, cd.zone, cd.phone)
	if row.Status == store.StatusPending {
		e.applyCap(c, cd, recent, &row, now, pol, to.Place)
	}
	if row.Status == store.StatusPending {
		e.schedule(c, cd, &row, now, pol, to)
	}
	return row
}

// deliverBatch is how many due rows one deliver task sends: each task costs
// its queue round trips and two reads (rows, customers), so a big run wants
// few of them; each row is still claimed on its own just before its send.
const deliverBatch = 100

// enqueueOrWarn logs a failed enqueue: the rows are written, and the
// reconciler enqueues waiting rows whose tasks are missing.
func (e *Engine) enqueueOrWarn(err error, id int64) {
	if err != nil {
		e.opts.Logger.Warn("enqueue delivery failed; reconciler will retry", "delivery", id, "err", err)
	}
}

// route picks the holdout, the variant and the channel, or marks the row
// suppressed with the reason (left: the customer left the campaign's
// topic).
func (e *Engine) route(c *campaigns.Campaign, cd candidate, sup suppressions, left bool, row *store.NewDelivery) {
	row.Channel = c.Channels[0]
	if e.heldGlobally(c, cd.id) {
		row.Status, row.Error = store.StatusSuppressed, store.ReasonGlobalHoldout
		return
	}
	if InHoldout(c, cd.id) {
		row.Status = store.StatusHoldout
		return
	}
	if left {
		row.Status, row.Error = store.StatusSuppressed, store.TopicOptOutReason(c.Topic)
		return
	}
	row.Variant = AssignVariant(c, cd.id)
	if !c.Recipient.IsCustomer() {
		row.Status = store.StatusPending // an internal alert: the team's address, no consent needed
		return
	}
	reason := store.Reason("no consent or address on any channel")
	for _, ch := range c.Channels {
		addr, ok := "", false
		switch ch {
		case campaigns.Email:
			addr, ok = cd.email, cd.emailOK
		case campaigns.SMS:
			addr, ok = cd.phone, cd.smsOK
		}
		if !ok || addr == "" {
			continue
		}
		if sup.has(ch, addr) {
			reason = store.Reason(ch + " address is on the suppression list")
			continue
		}
		row.Channel, row.Status = ch, store.StatusPending
		return
	}
	row.Status, row.Error = store.StatusSuppressed, reason
}

// schedule applies the send time (the trigger's local time of day, or the
// event's time plus its delay), the contact policy's quiet hours and
// blackout dates for messages to customers, and the campaign's late
// policy: a row that could only go out after its deadline is expired now,
// and every other row carries its deadline for the send to check. A
// deferred row says why it waits: "send time" (the trigger's local time or
// the event's delay), "quiet hours" or "blackout date".
func (e *Engine) schedule(c *campaigns.Campaign, cd candidate, row *store.NewDelivery, now time.Time, pol *campaigns.Policy, to campaigns.Contact) {
	planned := cd.sendAt
	if planned.IsZero() {
		planned = campaigns.SendAt(c, now, cd.loc)
	}
	at, why := planned, store.ReasonSendTime
	if at.Before(now) {
		at = now
	}
	if c.Recipient.IsCustomer() {
		if q, hold := pol.Hold(at, row.Channel, c.Frequency.Class, to); hold != campaigns.HoldNone {
			at, why = q, holdReason(hold)
		}
	}
	if exp := c.Late.ExpiresAt(planned, cd.loc); !exp.IsZero() {
		row.ExpiresAt = exp.UTC()
		if at.After(exp) {
			row.Status, row.Error = store.StatusExpired, lateReason(c.Late, at, exp, cd.loc)
			return
		}
	}
	if at.After(now) {
		row.Status, row.NotBefore, row.Error = store.StatusDeferred, at.UTC(), why
	}
}

// holdReason is the ledger's reason for a row the policy holds.
func holdReason(h campaigns.Hold) store.Reason {
	if h == campaigns.HoldBlackout {
		return store.ReasonBlackout
	}
	return store.ReasonQuietHours
}

// lateReason says why a row expires: when it could go out at the earliest,
// its deadline (both in the customer's zone) and the policy that set it.
func lateReason(l campaigns.Late, earliest, deadline time.Time, loc *time.Location) store.Reason {
	const layout = "2006-01-02 15:04 MST"
	policy := ""
	if l.Policy != "" {
		policy = ", late policy: " + l.String()
	}
	return store.Reason(fmt.Sprintf(string(store.ReasonLatePrefix)+"it could go out at %s at the earliest, past its deadline %s (%s%s)",
		earliest.In(loc).Format(layout), deadline.In(loc).Format(layout), loc, policy))
}
