package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// SendRequest is one transactional send (POST /v1/send): the api-triggered
// campaign, the customer's external id, the template data (.data) and the
// idempotency key, the ledger row's occurrence.
type SendRequest struct {
	Campaign       string          `json:"campaign"`
	Customer       string          `json:"customer"`
	Data           json.RawMessage `json:"data,omitempty"`
	IdempotencyKey string          `json:"idempotency_key"`
}

// SendAnswer is what became of a transactional send: its ledger row.
type SendAnswer struct {
	DeliveryID int64        `json:"delivery_id"`
	Status     store.Status `json:"status"` // pending (queued), deferred, suppressed, capped, ...
	Reason     store.Reason `json:"reason,omitempty"`
	NotBefore  *time.Time   `json:"not_before,omitempty"`
	Duplicate  bool         `json:"duplicate,omitempty"` // the key was sent before; nothing new was written
}

// Errors of Send the API maps to its answers.
var (
	// ErrNotTransactional: the campaign is not sent by POST /v1/send.
	ErrNotTransactional = errors.New("campaign is not a transactional campaign with trigger api")
	// ErrKeyReused: the key was used for another request.
	ErrKeyReused = errors.New("idempotency key was used for another request")
)

// SendError names what of a send request is wrong and what to send.
type SendError struct {
	Field, Msg string
	Err        error // ErrNotTransactional, store.ErrNotFound, ErrKeyReused or nil (invalid)
}

func (e *SendError) Error() string { return e.Field + ": " + e.Msg }
func (e *SendError) Unwrap() error { return e.Err }

// Send writes the ledger row of one transactional message and enqueues its
// delivery: the same ledger, consent, suppressions and contact policy as
// every message, counted in its campaign's class (transactional caps, not
// the promotional ones). It returns once the row is committed; the message
// goes out from a deliver task, never inside the request. A repeat of the
// key returns the first row, a reuse of it for another request ErrKeyReused.
func (e *Engine) Send(ctx context.Context, req SendRequest) (SendAnswer, error) {
	if req.Campaign != "" && req.Campaign == e.opts.DoubleOptIn.Campaign {
		return SendAnswer{}, &SendError{Field: "campaign", Err: ErrNotTransactional,
			Msg: fmt.Sprintf("campaign %s is the double opt-in confirmation (TIDINGS_DOUBLE_OPT_IN): Tidings sends it itself when a profile write grants email consent", req.Campaign)}
	}
	return e.sendTransactional(ctx, req, false)
}

// sendTransactional is Send; asking marks the double opt-in confirmation, which goes to
// a customer who has not consented yet (suppressions still apply).
func (e *Engine) sendTransactional(ctx context.Context, req SendRequest, asking bool) (SendAnswer, error) {
	c, err := e.sendCampaign(req.Campaign)
	if err != nil {
		return SendAnswer{}, err
	}
	data, hash, err := sendPayload(req)
	if err != nil {
		return SendAnswer{}, err
	}
	cust, err := e.st.CustomerByExternalID(ctx, req.Customer)
	if errors.Is(err, store.ErrNotFound) {
		return SendAnswer{}, &SendError{Field: "customer", Err: store.ErrNotFound,
			Msg: fmt.Sprintf("no customer has external id %q; create it first with PUT /v1/customers/{external_id}", clipText(req.Customer))}
	}
	if err != nil {
		return SendAnswer{}, err
	}
	now := e.now()
	cd := e.candidateOf(cust)
	cd.occurrence = req.IdempotencyKey
	cd.emailOK = cd.emailOK || asking
	pol := e.Policy()
	batch := []candidate{cd}
	sup, err := e.suppressed(ctx, batch)
	if err != nil {
		return SendAnswer{}, err
	}
	recent, err := e.recent(ctx, c, batch, now, pol)
	if err != nil {
		return SendAnswer{}, err
	}
	left, err := e.optedOut(ctx, c, batch)
	if err != nil {
		return SendAnswer{}, err
	}
	row := e.planRow(c, cd, 0, sup, left[cd.id], recent, now, pol)
	rec, err := e.st.RecordTransactional(ctx, store.TransactionalSend{Key: req.IdempotencyKey, PayloadHash: hash, Data: data}, row, now)
	if err != nil {
		return SendAnswer{}, err
	}
	ans := SendAnswer{DeliveryID: rec.DeliveryID, Status: rec.Status, Reason: rec.Reason, NotBefore: rec.NotBefore, Duplicate: rec.Repeat}
	switch {
	case rec.Changed:
		return ans, &SendError{Field: "idempotency_key", Err: ErrKeyReused,
			Msg: fmt.Sprintf("%q was used for another campaign, customer or data (delivery %d); give each message its own key", clipText(req.IdempotencyKey), rec.DeliveryID)}
	case rec.Repeat:
		return ans, nil
	}
	if err := e.cancelDisplaced(ctx, c, recent, now); err != nil {
		e.opts.Logger.Warn("send: displaced messages not cancelled", "campaign", c.ID, "err", err)
	}
	switch {
	case rec.Status == store.StatusPending:
		e.enqueueOrWarn(e.q.Deliver(ctx, rec.DeliveryID, time.Time{}), rec.DeliveryID)
	case rec.Status == store.StatusDeferred && rec.NotBefore != nil:
		e.enqueueOrWarn(e.q.Deliver(ctx, rec.DeliveryID, *rec.NotBefore), rec.DeliveryID)
	}
	return ans, nil
}

// UnknownCampaign says that no campaign id is loaded, with the nearest
// loaded id when one is close (a typo).
func (e *Engine) UnknownCampaign(id string) string {
	var ids []string
	for _, c := range e.Campaigns() {
		ids = append(ids, c.ID)
	}
	return fmt.Sprintf("no campaign %q is loaded%s", clipText(id), campaigns.DidYouMean(id, ids))
}

// sendCampaign is the loaded, active campaign a send names.
func (e *Engine) sendCampaign(id string) (*campaigns.Campaign, error) {
	c, ok := e.Campaign(id)
	switch {
	case !ok:
		return nil, &SendError{Field: "campaign", Err: store.ErrNotFound,
			Msg: e.UnknownCampaign(id) + " (name a campaign file's id whose trigger is api)"}
	case c.Trigger.Kind != campaigns.TriggerAPI || c.Frequency.Class != campaigns.ClassTransactional:
		return nil, &SendError{Field: "campaign", Err: ErrNotTransactional,
			Msg: fmt.Sprintf("campaign %s has trigger %s and class %s; POST /v1/send sends campaigns with trigger: {api: {}} and frequency: {class: transactional}",
				c.ID, c.Trigger.Kind, c.Frequency.Class)}
	case c.Status == campaigns.StatusPaused:
		return nil, &SendError{Field: "campaign", Err: ErrPaused, Msg: fmt.Sprintf("campaign %s is paused in its file", c.ID)}
	}
	return c, nil
}

// sendPayload checks the request's own fields and returns its data (a JSON
// object, {} when none) and the hash that tells a repeat from a reuse.
func sendPayload(req SendRequest) (json.RawMessage, string, error) {
	switch {
	case req.IdempotencyKey == "" || len(req.IdempotencyKey) > 255:
		return nil, "", &SendError{Field: "idempotency_key", Msg: "is required: 1 to 255 characters naming this message once (e.g. receipt-A-1001); a retry sends the same key"}
	case req.Customer == "" || len(req.Customer) > 255:
		return nil, "", &SendError{Field: "customer", Msg: "is required: the customer's external id"}
	}
	data := bytes.TrimSpace(req.Data)
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, "", &SendError{Field: "data", Msg: `must be a JSON object of the template's variables, e.g. {"order_id": "A-1001"}`}
	}
	canon, _ := json.Marshal(obj) // sorted keys: the same data in another order is a repeat
	h := sha256.New()
	for _, part := range [][]byte{[]byte(req.Campaign), []byte(req.Customer), canon} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return canon, hex.EncodeToString(h.Sum(nil)), nil
}

// clipText shortens a request's text quoted in an error.
func clipText(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
