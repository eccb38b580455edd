package unsubscribe

import (
	"crypto/hmac"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/tidings-crm/tidings/triggers"
)

// Inbound SMS authentication. STOP and START change consent, so a request
// that cannot prove it comes from the provider changes nothing: the handler
// serves the inbound endpoint only with a credential (Options.TwilioAuthToken
// or Options.InboundSecret), refuses a request without a valid signature, and
// refuses a signed request it has already accepted (a replay).

// Errors of an inbound request that is refused.
var (
	errTwilioSignature = errors.New("missing or invalid X-Twilio-Signature")
	errReplay          = errors.New("this request was already accepted: a replay")
)

// Replay memory: how long an accepted request's id is remembered, and how
// many ids are kept at most (inbound SMS are replies from people: few).
const (
	// signedReplayWindow covers the timestamp tolerance on both sides of the
	// clock: a copy of a signed request is refused as a replay within it and
	// as stale after it.
	signedReplayWindow = 2 * triggers.DefaultTolerance
	// twilioReplayWindow is how long a Twilio MessageSid is remembered:
	// Twilio's signature has no timestamp, so only the id tells a replay.
	twilioReplayWindow = 24 * time.Hour
	maxRemembered      = 100_000
)

// inboundAuth checks inbound requests with the configured credential.
type inboundAuth struct {
	twilioToken string             // Twilio's auth token: X-Twilio-Signature
	verifier    *triggers.Verifier // the generic provider: Standard Webhooks headers
	now         func() time.Time   // the clock of timestamps and the replay memory
	seen        *replayMemory      // ids of accepted requests
	requestURL  func(*http.Request) string
}

// newInboundAuth returns the checker for opts' credential, or nil when opts
// hold none (the endpoint is then not served).
func newInboundAuth(opts Options, requestURL func(*http.Request) string) (*inboundAuth, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	a := &inboundAuth{now: now, seen: &replayMemory{ids: map[string]time.Time{}}, requestURL: requestURL}
	switch {
	case opts.TwilioAuthToken != "" && opts.InboundSecret != "":
		return nil, errors.New("unsubscribe: set TwilioAuthToken (Twilio) or InboundSecret (the generic provider), not both")
	case opts.TwilioAuthToken != "":
		a.twilioToken = opts.TwilioAuthToken
	case opts.InboundSecret != "":
		v, err := triggers.NewVerifier(opts.InboundSecret)
		if err != nil {
			return nil, errors.New("unsubscribe: inbound SMS secret: " + err.Error())
		}
		v.Now = now
		a.verifier = v
	default:
		return nil, nil
	}
	return a, nil
}

// check authenticates r, whose raw body is body and form its parameters. It
// returns the id under which the request is remembered once it succeeds
// ("" when it carries none), or the HTTP status and reason of a refusal:
// 401 for a missing, wrong or stale Standard Webhooks signature, 403 for a
// bad Twilio signature and for a replay.
func (a *inboundAuth) check(r *http.Request, body []byte, form url.Values) (id string, status int, err error) {
	if a.verifier != nil {
		id = r.Header.Get(triggers.HeaderID)
		err := a.verifier.Verify(id, r.Header.Get(triggers.HeaderTimestamp), r.Header.Get(triggers.HeaderSignature), body)
		if err != nil {
			return "", http.StatusUnauthorized, err
		}
		id = "signed:" + id
	} else {
		got := r.Header.Get("X-Twilio-Signature")
		want := TwilioSignature(a.twilioToken, a.requestURL(r), form)
		if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
			return "", http.StatusForbidden, errTwilioSignature
		}
		if sid := form.Get("MessageSid"); sid != "" {
			id = "twilio:" + sid
		}
	}
	if id != "" && !a.seen.reserve(id, a.now(), a.window()) {
		return "", http.StatusForbidden, errReplay
	}
	return id, 0, nil
}

// window is how long an accepted id is remembered.
func (a *inboundAuth) window() time.Duration {
	if a.verifier != nil {
		return signedReplayWindow
	}
	return twilioReplayWindow
}

// replayMemory holds the ids of accepted requests until they expire.
type replayMemory struct {
	mu  sync.Mutex
	ids map[string]time.Time // id -> when it may be forgotten
}

// reserve records id and reports whether it was new. An id whose request
// then fails is released, so the provider's retry is not taken for a replay.
func (m *replayMemory) reserve(id string, now time.Time, keep time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if until, ok := m.ids[id]; ok && now.Before(until) {
		return false
	}
	if len(m.ids) >= maxRemembered {
		for k, until := range m.ids {
			if !now.Before(until) {
				delete(m.ids, k)
			}
		}
	}
	for k := range m.ids { // still full of live ids: forget arbitrary ones
		if len(m.ids) < maxRemembered {
			break
		}
		delete(m.ids, k)
	}
	m.ids[id] = now.Add(keep)
	return true
}

// release forgets id (its request was not carried out).
func (m *replayMemory) release(id string) {
	if id == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.ids, id)
}
