package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// DoubleOptIn configures the confirmation of email sign-ups that arrive by
// API (docs/privacy.md#double-opt-in). With Campaign set, a profile write
// granting email consent to a customer who has none grants nothing yet: it
// opens a consent request and sends Campaign (trigger api, class
// transactional) with .data.confirm_url; the consent starts when the
// customer confirms (store.ConfirmConsent, source double_opt_in).
type DoubleOptIn struct {
	Campaign string
	// URL returns the signed confirmation link of a request.
	URL func(req store.ConsentRequest) string
}

// UpsertProfiles writes the profiles the shop's systems send (PUT
// /v1/customers), consent changes recorded with source "api" unless a
// consent names its own. Under double opt-in, confirming[i] is true when
// in[i]'s email consent now waits for the customer's confirmation, whose
// message is queued before this returns; a repeat of the write while the
// request is open sends nothing more.
func (e *Engine) UpsertProfiles(ctx context.Context, in []store.CustomerInput) (out []store.UpsertOutcome, refused []store.RowError,
	confirming []bool, err error) {
	if e.opts.DoubleOptIn.Campaign == "" {
		out, refused, err = e.st.UpsertProfiles(ctx, in, store.ConsentAPI)
		return out, refused, nil, err
	}
	confirming = make([]bool, len(in))
	held := make([]store.CustomerInput, len(in))
	for i, p := range in {
		held[i] = p
		if p.EmailConsent != nil && *p.EmailConsent {
			held[i].EmailConsent, confirming[i] = nil, true
		}
	}
	if out, refused, err = e.st.UpsertProfiles(ctx, held, store.ConsentAPI); err != nil {
		return nil, nil, nil, err
	}
	for _, r := range refused {
		confirming[r.Index] = false
	}
	for i := range in {
		if !confirming[i] {
			continue
		}
		if confirming[i], err = e.askConsent(ctx, in[i]); err != nil {
			return nil, nil, nil, err
		}
	}
	return out, refused, confirming, nil
}

// askConsent opens (or finds) the customer's email consent request and
// queues its confirmation; false when there is nothing to ask (consent is
// already given, or there is no address).
func (e *Engine) askConsent(ctx context.Context, p store.CustomerInput) (bool, error) {
	cust, err := e.st.CustomerByExternalID(ctx, p.ExternalID)
	if err != nil {
		return false, err
	}
	if cust.EmailConsent || cust.Email == "" {
		return false, nil
	}
	source := p.EmailConsentSource
	if source == "" {
		source = store.ConsentAPI
	}
	req, _, err := e.st.RequestConsent(ctx, cust.ID, channels.Email, source, e.now())
	if err != nil {
		return false, err
	}
	data, _ := json.Marshal(map[string]string{"confirm_url": e.opts.DoubleOptIn.URL(req)})
	// The request's id is the key: the write repeated while the request is
	// open is a repeat of the same send, not a second message.
	if _, err := e.sendTransactional(ctx, SendRequest{Campaign: e.opts.DoubleOptIn.Campaign, Customer: p.ExternalID, Data: data,
		IdempotencyKey: fmt.Sprintf("confirm-%d", req.ID)}, true); err != nil {
		return false, fmt.Errorf("double opt-in confirmation of customer %d: %w", cust.ID, err)
	}
	return true, nil
}

// ConfirmConsent is store.ConfirmConsent at the engine's clock: the
// customer followed the confirmation link of request id.
func (e *Engine) ConfirmConsent(ctx context.Context, id, customerID int64) (bool, error) {
	return e.st.ConfirmConsent(ctx, id, customerID, e.now())
}

// CheckDoubleOptIn says what is wrong with the double opt-in campaign, once
// the campaigns are loaded: it must exist and be an email campaign sent by
// api with class transactional (its template uses .data.confirm_url).
func (e *Engine) CheckDoubleOptIn() error {
	id := e.opts.DoubleOptIn.Campaign
	if id == "" {
		return nil
	}
	c, err := e.sendCampaign(id)
	if err != nil {
		return fmt.Errorf("%v (docs/privacy.md#double-opt-in)", err)
	}
	if !slices.Contains(c.Channels, campaigns.Email) {
		return fmt.Errorf("campaign %s sends no email; the confirmation is an email with {{ .data.confirm_url }} (docs/privacy.md#double-opt-in)", id)
	}
	return nil
}
