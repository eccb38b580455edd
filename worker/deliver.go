package worker

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
)

// handleDeliver sends one ledger row; handleDeliverBatch sends several rows
// of one run, which saves the queue and database round trips of one task per
// message. Either way the rows are claimed in blocks just before their sends
// (blocks.go), so a crash leaves at most the engine's claim budget ambiguous.
func (e *Engine) handleDeliver(ctx context.Context, t *asynq.Task) error {
	p, err := decode[DeliverPayload](t)
	if err != nil {
		return err
	}
	return e.deliverIDs(ctx, []int64{p.DeliveryID})
}

func (e *Engine) handleDeliverBatch(ctx context.Context, t *asynq.Task) error {
	p, err := decode[DeliverBatchPayload](t)
	if err != nil {
		return err
	}
	// A batch reads the pauses afresh: a campaign the safety paused (its
	// complaint or bounce rate, recorded by another process) sends no
	// further batch.
	e.forgetPauses()
	return e.deliverIDs(ctx, p.IDs)
}

// deliverIDs sends the waiting rows among ids. Transient failures do not fail
// the task: the row is deferred to its retry time in the ledger and gets a
// task of its own, so the ledger, not Redis, holds the retry schedule.
func (e *Engine) deliverIDs(ctx context.Context, ids []int64) (err error) {
	// Admitted first, so the rows are read fresh when their turn comes; let
	// go last, after the outcomes are recorded and the tokens given back.
	leave, err := e.blocks.admit(ctx)
	if err != nil {
		return err
	}
	defer leave()
	rows, err := e.st.Deliveries(ctx, ids)
	if err != nil {
		return err
	}
	var custIDs []int64
	for _, d := range rows {
		custIDs = append(custIDs, d.CustomerID)
	}
	custs, err := e.st.CustomersByIDs(ctx, custIDs)
	if err != nil {
		return err
	}
	sr := sendRun{budget: e.blocks}
	defer func() {
		if ferr := e.flushParked(ctx, &sr); err == nil {
			err = ferr
		}
	}()
	var ready []readyRow
	for i := range rows {
		if err := ctx.Err(); err != nil {
			return err // shutting down: the rest stay waiting and the task is retried
		}
		r, err := e.prepare(ctx, &rows[i], custs[rows[i].CustomerID])
		if err != nil {
			return err
		}
		if r == nil {
			continue
		}
		if ready = append(ready, *r); len(ready) >= e.blocks.want() {
			if err := e.sendBlocks(ctx, &sr, ready); err != nil {
				return err
			}
			ready = ready[:0]
		}
	}
	return e.sendBlocks(ctx, &sr, ready)
}

// emitMessage reports a recorded outcome to the outgoing webhooks (a no-op
// without subscribers). The outcome is committed; a failure here loses
// only its notification, and says so.
func (e *Engine) emitMessage(ctx context.Context, typ string, deliveryID int64, detail string) {
	if err := e.st.EmitMessageHook(ctx, typ, deliveryID, detail, e.now()); err != nil {
		e.opts.Logger.Error("outgoing webhook not written", "delivery", deliveryID, "event", typ, "err", err)
	}
}

// prepare makes the checks of a row before its claim, settling or holding
// the rows that are not to be sent now; it returns the row ready for a
// block's claim, or nil. It returns an error only when the task itself must
// be retried (the database is unreachable, or shutdown).
func (e *Engine) prepare(ctx context.Context, d *store.Delivery, cust *store.Customer) (*readyRow, error) {
	now := e.now()
	if d.Status != store.StatusPending && d.Status != store.StatusDeferred {
		return nil, nil // sent, claimed elsewhere or settled: nothing to do
	}
	if d.NotBefore != nil && d.NotBefore.After(now) {
		return nil, e.q.Deliver(ctx, d.ID, *d.NotBefore) // early: make sure its own timed task exists
	}
	c, ok := e.messageOf(d)
	if paused, err := e.Paused(ctx, d.CampaignID); err != nil || paused {
		if err != nil {
			return nil, err
		}
		return nil, e.holdPaused(ctx, d.ID, now)
	}
	switch {
	case !ok || c.Status == campaigns.StatusPaused:
		return nil, e.settle(ctx, d, store.StatusCancelled, "campaign paused or removed before the send", now)
	case cust == nil:
		return nil, e.settle(ctx, d, store.StatusCancelled, "customer deleted before the send", now)
	}
	if reason, err := e.exitedBeforeSend(ctx, c, d, cust, now); err != nil || reason != "" {
		if err != nil {
			return nil, err
		}
		return nil, e.settle(ctx, d, store.StatusCancelled, reason, now)
	}
	to, check := e.address(c, d, cust)
	if to == "" {
		return nil, e.settle(ctx, d, store.StatusSuppressed, store.Reason(d.Channel+" address removed before the send"), now)
	}
	if held, err := e.holdForTime(ctx, c, d, cust, now); held || err != nil {
		return nil, err
	}
	return &readyRow{d: d, c: c, cust: cust, to: to, check: check}, nil
}

// holdForTime applies the clock to a due row before its claim: past its
// late deadline it is expired, never sent; a message to a customer that the
// contact policy holds now (quiet hours, a blackout date) waits for the end
// of the hold, or expires if that is past its deadline. It reports whether
// the row was held (not to be sent now).
func (e *Engine) holdForTime(ctx context.Context, c *campaigns.Campaign, d *store.Delivery, cust *store.Customer, now time.Time) (bool, error) {
	loc, zone := campaigns.CustomerLocation(cust.TimeZone, cust.Phone, e.opts.DefaultLoc)
	if d.ExpiresAt != nil && now.After(*d.ExpiresAt) {
		return true, e.settle(ctx, d, store.StatusExpired, lateReason(c.Late, now, *d.ExpiresAt, loc), now)
	}
	if !c.Recipient.IsCustomer() {
		return false, nil
	}
	pol := e.Policy()
	q, hold := pol.Hold(now, d.Channel, c.Frequency.Class, contact(pol, loc, zone, cust.Phone))
	switch {
	case hold == campaigns.HoldNone:
		return false, nil
	case d.ExpiresAt != nil && q.After(*d.ExpiresAt):
		return true, e.settle(ctx, d, store.StatusExpired, lateReason(c.Late, q, *d.ExpiresAt, loc), now)
	}
	if err := e.st.Defer(ctx, d.ID, q, holdReason(hold), now); err != nil {
		return true, err
	}
	return true, e.q.Deliver(ctx, d.ID, q)
}

// address returns where the message goes and what the claim must find: the
// address unsuppressed and the customer still in the campaign's topic
// (nothing for internal team alerts, which need no consent).
func (e *Engine) address(c *campaigns.Campaign, d *store.Delivery, cust *store.Customer) (to string, check store.Check) {
	if !c.Recipient.IsCustomer() {
		switch d.Channel {
		case campaigns.SMS:
			return c.Recipient.Team.SMS, check
		case campaigns.Webhook:
			return string(campaigns.Webhook), check // the URL comes from the render (message)
		}
		return c.Recipient.Team.Email, check
	}
	check.Topic = c.Topic
	check.AskingConsent = c.ID == e.opts.DoubleOptIn.Campaign
	if d.Channel == campaigns.SMS {
		check.Address = cust.Phone
		return cust.Phone, check
	}
	check.Address = normalizeAddr(d.Channel, cust.Email)
	return cust.Email, check
}

// notClaimed explains a claim that failed on a row that was waiting: if it is
// still waiting and due, consent or suppression changed since planning.
func (e *Engine) notClaimed(ctx context.Context, id int64, check store.Check, now time.Time) error {
	d, err := e.st.Delivery(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	waiting := d.Status == store.StatusPending || d.Status == store.StatusDeferred
	if waiting && d.ExpiresAt != nil && now.After(*d.ExpiresAt) {
		c, _ := e.messageOf(d)
		late := campaigns.Late{}
		if c != nil {
			late = c.Late
		}
		return e.settle(ctx, d, store.StatusExpired, lateReason(late, now, *d.ExpiresAt, time.UTC), now)
	}
	if waiting && (d.NotBefore == nil || !d.NotBefore.After(now)) {
		if check.Topic != "" {
			left, err := e.st.TopicOptOuts(ctx, d.CustomerID)
			if err != nil {
				return err
			}
			if slices.Contains(left, check.Topic) {
				return e.settle(ctx, d, store.StatusSuppressed, store.TopicOptOutReason(check.Topic), now)
			}
		}
		return e.settle(ctx, d, store.StatusSuppressed, store.Reason(d.Channel+" consent withdrawn or address suppressed before the send"), now)
	}
	return nil
}

func (e *Engine) settle(ctx context.Context, d *store.Delivery, status store.Status, reason store.Reason, now time.Time) error {
	_, err := e.st.SetWaitingStatus(ctx, d.ID, status, reason, now)
	return err
}

// outcome is what one send attempt ended with: a ledger status, or
// statusRetry for a transient failure.
type outcome struct {
	status     store.Status
	providerID string
	err        error
	took       time.Duration // the provider's time
}

const statusRetry store.Status = "retry"

// send renders and sends a claimed row.
func (e *Engine) send(ctx context.Context, c *campaigns.Campaign, d *store.Delivery, cust *store.Customer, to string, now time.Time) outcome {
	ch, ok := e.channels[d.Channel]
	if !ok {
		return outcome{status: store.StatusFailed, err: fmt.Errorf("no %s channel is configured", d.Channel)}
	}
	msg, err := e.message(ctx, c, d, cust, to, now)
	if err != nil {
		return outcome{status: store.StatusFailed, err: err}
	}
	started := time.Now()
	res, err := ch.Send(ctx, msg)
	took := time.Since(started)
	if err != nil {
		return outcome{status: classify(err), err: err, took: took}
	}
	return outcome{status: store.StatusSent, providerID: res.ProviderID, took: took}
}

// message renders the campaign for the customer (and the triggering event,
// for event campaigns).
func (e *Engine) message(ctx context.Context, c *campaigns.Campaign, d *store.Delivery, cust *store.Customer, to string, now time.Time) (*channels.Message, error) {
	env := rules.NewEnv(e.opts.DefaultLoc)
	env.Now = now
	FillEnv(env, cust)
	if d.EventID != nil {
		ev, err := e.eventFor(ctx, *d.EventID, cust.ID)
		if err != nil {
			return nil, err
		}
		env.Event = ev
	}
	if c.ReadsJourney() { // two queries: only for the templates that read .journey
		if err := e.fillJourneyOf(ctx, env, d); err != nil {
			return nil, err
		}
	}
	unsub := e.opts.UnsubscribeURL(d)
	links := campaigns.Links{Unsubscribe: unsub, Preferences: e.opts.PreferencesURL(d)}
	data := c.DataWith(env, d.Variant, links)
	if c.Trigger.Kind == campaigns.TriggerAPI {
		sent, err := e.st.TransactionalData(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		campaigns.WithSendData(data, sent)
	}
	c.AddSurvey(data, func(score int) string { return e.opts.SurveyURL(d, c.Survey.Kind, score) })
	r, err := campaigns.Render(c, d.Channel, cust.Locale, d.Variant, data)
	if err != nil {
		return nil, err
	}
	if d.Channel == channels.Email && c.Tracking.Any() && r.HTML != "" && e.opts.TrackHTML != nil {
		r.HTML = e.opts.TrackHTML(d, c.Tracking, r.HTML, unsub, now)
	}
	if d.Channel == channels.Webhook {
		to = r.URL
	}
	return &channels.Message{DeliveryID: d.ID, Campaign: c.ID, Variant: d.Variant, To: to, Subject: r.Subject,
		Text: r.Text, HTML: r.HTML, Locale: cust.Locale, FromName: r.FromName, UnsubscribeURL: unsub}, nil
}

// classify maps a send error to the status to record.
func classify(err error) store.Status {
	switch {
	case channels.IsCanceled(err) && !channels.IsAmbiguous(err): // stopped before the message left: retry
		return statusRetry
	case channels.IsAmbiguous(err):
		return store.StatusUnknown // the provider may have it: never resend blindly
	case channels.IsPermanent(err):
		return store.StatusFailed
	}
	return statusRetry
}

// record writes the outcome of a claimed row, fenced by the claim token. A
// sent message's outcome is parked in sr for the next block's claim.
func (e *Engine) record(ctx context.Context, sr *sendRun, d *store.Delivery, token string, out outcome) error {
	// The outcome must be recorded even when the task's context ended mid-send.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := e.now()
	e.opts.Metrics.sent(d.Channel, out.status, out.took)
	var errText store.Reason
	if out.err != nil {
		errText = store.Reason(out.err.Error())
	}
	if out.status == statusRetry {
		return e.retryLater(ctx, wctx, d, token, out.err, now)
	}
	result := store.Outcome{ID: d.ID, Token: token, Status: out.status, ProviderID: out.providerID, Error: errText}
	if out.status == store.StatusSent {
		sr.park(result)
		return nil
	}
	fenced, err := e.st.FinishDelivery(wctx, d.ID, token, out.status, out.providerID, errText, now)
	if err != nil {
		return err
	}
	if !fenced {
		e.opts.Logger.Warn("delivery outcome not recorded: the claim was taken over", "delivery", d.ID, "status", out.status)
	}
	if fenced && out.status == store.StatusFailed {
		e.emitMessage(wctx, store.HookMessageFailed, d.ID, string(errText))
		if channels.IsHardBounce(out.err) {
			e.emitMessage(wctx, store.HookMessageBounced, d.ID, string(errText))
		}
	}
	if out.status == store.StatusFailed && (channels.IsHardBounce(out.err) || channels.IsUnsubscribed(out.err)) {
		e.suppressAfterFailure(wctx, d, out.err)
	}
	return nil
}

// retryLater hands a transiently failed row back: deferred to its retry time
// (the provider's Retry-After, or backoff by attempt) with a task of its own,
// or failed once out of attempts. On shutdown it goes back to pending at once
// and the task is retried.
func (e *Engine) retryLater(ctx, wctx context.Context, d *store.Delivery, token string, sendErr error, now time.Time) error {
	errText := store.Reason(sendErr.Error())
	if ctx.Err() != nil {
		if _, err := e.st.ReleaseDelivery(wctx, d.ID, token, time.Time{}, "interrupted: "+errText, now); err != nil {
			return err
		}
		return ctx.Err()
	}
	if d.Attempts >= maxAttempts {
		fenced, err := e.st.FinishDelivery(wctx, d.ID, token, store.StatusFailed, "", "gave up after retries: "+errText, now)
		if fenced {
			e.emitMessage(wctx, store.HookMessageFailed, d.ID, "gave up after retries: "+string(errText))
		}
		return err
	}
	at := now.Add(RetryDelay(d.Attempts, sendErr, nil))
	if d.ExpiresAt != nil && at.After(*d.ExpiresAt) {
		_, err := e.st.FinishDelivery(wctx, d.ID, token, store.StatusExpired, "",
			store.ReasonLatePrefix+store.Reason("its retry would be past its deadline "+d.ExpiresAt.UTC().Format(time.RFC3339))+" after: "+errText, now)
		return err
	}
	if _, err := e.st.ReleaseDelivery(wctx, d.ID, token, at, errText, now); err != nil {
		return err
	}
	if err := e.q.Deliver(wctx, d.ID, at); err != nil {
		e.opts.Logger.Warn("enqueue retry failed; reconciler will retry", "delivery", d.ID, "err", err)
	}
	return nil
}

// suppressAfterFailure puts a hard-bounced or provider-unsubscribed address on
// the suppression list so no campaign tries it again.
func (e *Engine) suppressAfterFailure(ctx context.Context, d *store.Delivery, sendErr error) {
	cust, err := e.st.CustomerByID(ctx, d.CustomerID)
	if err != nil {
		e.opts.Logger.Error("suppress after failure: load customer", "delivery", d.ID, "err", err)
		return
	}
	addr, reason := cust.Email, store.SuppressHardBounce
	if d.Channel == campaigns.SMS {
		addr, reason = cust.Phone, store.SuppressStop
	}
	if channels.IsUnsubscribed(sendErr) && d.Channel == campaigns.Email {
		reason = store.SuppressUnsubscribe
	}
	if err := e.st.Suppress(ctx, d.Channel, addr, reason, cust.ID); err != nil {
		e.opts.Logger.Error("suppress after failure", "delivery", d.ID, "err", err)
	}
}

// RetryDelay is the wait before the next attempt of a send: the provider's
// Retry-After when it gave one (a breaker's remaining open time too),
// otherwise exponential backoff from 2 s to 10 min with jitter. It is also
// the asynq retry delay of the planning tasks.
func RetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if d, ok := channels.RetryAfterOf(err); ok && d > 0 {
		return d
	}
	d := 2 * time.Second << min(max(n-1, 0), 9)
	d = min(d, 10*time.Minute)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// errPostponed marks a task retry that is not the task's fault; asynq does
// not count it against the task's retries.
var errPostponed = errors.New("postponed")

// IsFailure tells asynq which errors count against a task's retries.
func IsFailure(err error) bool { return err != nil && !errors.Is(err, errPostponed) }

func newToken() string {
	b := make([]byte, 12)
	if _, err := crand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
