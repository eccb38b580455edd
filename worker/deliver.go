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
	"github.com/tidings-crm/tidings/triggers"
)

// errPostponed marks a retry that is not the delivery's fault (the provider's
// breaker is open, the rate limit is full, the row is not due yet): asynq
// does not count it against the task's retries.
var errPostponed = errors.New("postponed")

// handleDeliver sends one ledger row at most once: claim (pending -> sending
// under a fresh token), check consent and suppressions again, render, send,
// and record the outcome fenced by the token.
func (e *Engine) handleDeliver(ctx context.Context, t *asynq.Task) error {
	p, err := decode[DeliverPayload](t)
	if err != nil {
		return err
	}
	now := e.now()
	token := newToken()
	ok, err := e.st.ClaimDelivery(ctx, p.DeliveryID, token, now)
	if err != nil {
		return err
	}
	if !ok {
		return e.notClaimable(ctx, p.DeliveryID, now)
	}
	d, err := e.st.Delivery(ctx, p.DeliveryID)
	if err != nil {
		return err
	}
	out := e.send(ctx, d, now)
	return e.record(ctx, d, token, out)
}

// notClaimable handles a task whose row could not be claimed: finished or
// claimed elsewhere (nothing to do), or not due yet (come back then).
func (e *Engine) notClaimable(ctx context.Context, id int64, now time.Time) error {
	d, err := e.st.Delivery(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if (d.Status == store.StatusPending || d.Status == store.StatusDeferred) && d.NotBefore != nil && d.NotBefore.After(now) {
		// Early (a clock skew, or the reconciler enqueued it): leave it to its
		// own ProcessAt task, and make sure one exists.
		return e.q.Deliver(ctx, id, *d.NotBefore)
	}
	return nil
}

// statusRetry is send's outcome for a transient failure: release the row and
// let asynq retry.
const statusRetry = "retry"

// outcome is what one send attempt ended with.
type outcome struct {
	status     string // a ledger status, or statusRetry
	providerID string
	notBefore  time.Time // for StatusDeferred
	err        error
}

func fail(status string, err error) outcome { return outcome{status: status, err: err} }

// send performs the checks that must hold at send time and the send itself.
func (e *Engine) send(ctx context.Context, d *store.Delivery, now time.Time) outcome {
	c, ok := e.Campaign(d.CampaignID)
	if !ok || c.Status == campaigns.StatusPaused {
		return fail(store.StatusCancelled, errors.New("campaign paused or removed before the send"))
	}
	cust, err := e.st.CustomerByID(ctx, d.CustomerID)
	if err != nil {
		return fail(statusRetry, err)
	}
	if slices.Contains(c.ExitOn, "purchase") && cust.LastPurchaseAt.After(d.CreatedAt) {
		return fail(store.StatusCancelled, errors.New("exit condition: the customer purchased after the message was planned"))
	}
	to, reason, err := e.address(ctx, c, d, cust)
	if err != nil {
		return fail(statusRetry, err)
	}
	if reason != "" {
		return fail(store.StatusSuppressed, errors.New(reason))
	}
	loc := triggers.Location(cust.TimeZone, e.opts.DefaultLoc)
	if d.Channel == string(campaigns.SMS) && c.Recipient.IsCustomer() {
		if q := triggers.QuietUntil(now, loc); !q.IsZero() {
			return outcome{status: store.StatusDeferred, notBefore: q.UTC()}
		}
	}
	ch, ok := e.channels[d.Channel]
	if !ok {
		return fail(store.StatusFailed, fmt.Errorf("no %s channel is configured", d.Channel))
	}
	msg, err := e.message(c, d, cust, to, now)
	if err != nil {
		return fail(store.StatusFailed, err)
	}
	res, err := ch.Send(ctx, msg)
	if err != nil {
		return fail(classify(err), err)
	}
	return outcome{status: store.StatusSent, providerID: res.ProviderID}
}

// address returns where the message goes, or why it must not be sent:
// consent withdrawn or the address suppressed since the row was planned
// (DESIGN.md invariant 4: checked at send time, not only at planning).
func (e *Engine) address(ctx context.Context, c *campaigns.Campaign, d *store.Delivery, cust *store.Customer) (string, string, error) {
	if !c.Recipient.IsCustomer() {
		if d.Channel == string(campaigns.SMS) {
			return c.Recipient.Team.SMS, "", nil
		}
		return c.Recipient.Team.Email, "", nil
	}
	var to string
	var consent bool
	switch d.Channel {
	case string(campaigns.Email):
		to, consent = cust.Email, cust.EmailConsent
	case string(campaigns.SMS):
		to, consent = cust.Phone, cust.SMSConsent
	}
	if !consent || to == "" {
		return "", d.Channel + " consent withdrawn or address removed before the send", nil
	}
	set, err := e.st.SuppressedSet(ctx, d.Channel, []string{normalizeAddr(d.Channel, to)})
	if err != nil {
		return "", "", err
	}
	if len(set) > 0 {
		return "", d.Channel + " address suppressed before the send", nil
	}
	return to, "", nil
}

// message renders the campaign for the customer.
func (e *Engine) message(c *campaigns.Campaign, d *store.Delivery, cust *store.Customer, to string, now time.Time) (*channels.Message, error) {
	env := rules.NewEnv(e.opts.DefaultLoc)
	env.Now = now
	FillEnv(env, cust)
	unsub := e.opts.UnsubscribeURL(d)
	r, err := campaigns.Render(c, d.Channel, cust.Locale, d.Variant, c.Data(env, d.Variant, unsub))
	if err != nil {
		return nil, err
	}
	return &channels.Message{DeliveryID: d.ID, Campaign: c.ID, Variant: d.Variant, To: to, Subject: r.Subject,
		Text: r.Text, HTML: r.HTML, Locale: cust.Locale, UnsubscribeURL: unsub}, nil
}

// classify maps a send error to the status to record.
func classify(err error) string {
	switch {
	case channels.IsAmbiguous(err):
		return store.StatusUnknown // the provider may have it: never resend blindly
	case channels.IsPermanent(err):
		return store.StatusFailed
	}
	return statusRetry
}

// record writes the outcome, fenced by the claim token, and tells asynq
// whether to retry.
func (e *Engine) record(ctx context.Context, d *store.Delivery, token string, out outcome) error {
	status, sendErr := out.status, out.err
	// The outcome must be recorded even when the task's context ended mid-send.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := e.now()
	errText := ""
	if sendErr != nil {
		errText = sendErr.Error()
	}
	switch status {
	case statusRetry:
		if d.Attempts >= maxAttempts {
			_, err := e.st.FinishDelivery(wctx, d.ID, token, store.StatusFailed, "", "gave up after retries: "+errText, now)
			return err
		}
		if _, err := e.st.ReleaseDelivery(wctx, d.ID, token, time.Time{}, errText, now); err != nil {
			return err
		}
		if errors.Is(sendErr, channels.ErrOpen) {
			return fmt.Errorf("%w: %v", errPostponed, sendErr)
		}
		return sendErr
	case store.StatusDeferred:
		if _, err := e.st.ReleaseDelivery(wctx, d.ID, token, out.notBefore, "quiet hours", now); err != nil {
			return err
		}
		return e.q.Deliver(wctx, d.ID, out.notBefore)
	}
	fenced, err := e.st.FinishDelivery(wctx, d.ID, token, status, out.providerID, errText, now)
	if err != nil {
		return err
	}
	if !fenced {
		e.opts.Logger.Warn("delivery outcome not recorded: the claim was taken over", "delivery", d.ID, "status", status)
	}
	if status == store.StatusFailed && (channels.IsHardBounce(sendErr) || channels.IsUnsubscribed(sendErr)) {
		e.suppressAfterFailure(wctx, d, sendErr)
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
	addr, reason := cust.Email, "hard_bounce"
	if d.Channel == string(campaigns.SMS) {
		addr, reason = cust.Phone, "stop"
	}
	if channels.IsUnsubscribed(sendErr) && d.Channel == string(campaigns.Email) {
		reason = "unsubscribe"
	}
	if err := e.st.Suppress(ctx, d.Channel, addr, reason, cust.ID); err != nil {
		e.opts.Logger.Error("suppress after failure", "delivery", d.ID, "err", err)
	}
}

// RetryDelay is the asynq retry delay: the provider's Retry-After when it
// gave one, otherwise exponential backoff from 2 s to 10 min with jitter.
func RetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if d, ok := channels.RetryAfterOf(err); ok && d > 0 {
		return d
	}
	d := 2 * time.Second << min(n, 9)
	d = min(d, 10*time.Minute)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// IsFailure tells asynq which errors count against a task's retries:
// postponements (breaker open, not due yet) do not.
func IsFailure(err error) bool { return err != nil && !errors.Is(err, errPostponed) }

func newToken() string {
	b := make([]byte, 12)
	if _, err := cryptoRead(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

var cryptoRead = crand.Read
