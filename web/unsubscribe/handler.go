package unsubscribe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/web/openapi"
)

// maxBody bounds a request body the handler reads (forms are tiny).
const maxBody = 64 << 10

// Store is what the handler needs from the database; *store.Store
// satisfies it. Every method is idempotent, so a retried request is safe.
type Store interface {
	CustomerByID(ctx context.Context, id int64) (*store.Customer, error)
	CustomersByPhone(ctx context.Context, phone string) ([]*store.Customer, error)
	IsSuppressed(ctx context.Context, channel channels.Name, address string) (bool, error)
	Suppress(ctx context.Context, channel channels.Name, address string, reason store.SuppressionReason, customerID int64) error
	Unsuppress(ctx context.Context, channel channels.Name, address string) (bool, error)
	SetConsent(ctx context.Context, customerID int64, channel channels.Name, ok bool, source string) error
	TopicOptOuts(ctx context.Context, customerID int64) ([]string, error)
	SetTopics(ctx context.Context, customerID int64, known, left []string, source string) error
}

var _ Store = (*store.Store)(nil)

// Options configures Handler. Store and a Signer with a valid key are
// required; the rest have defaults.
type Options struct {
	Store  Store
	Signer Signer
	// Topics are the deployment's topics, which the preference page lists.
	Topics []campaigns.Topic

	// Brand names the sender on pages and in SMS replies (default "Tidings").
	Brand string
	// Contact is how a customer reaches a human (an email address, a phone
	// number or a URL); the SMS HELP reply includes it.
	Contact string
	// StopReply, StartReply and HelpReply override the SMS confirmations.
	StopReply, StartReply, HelpReply string
	// ProviderConfirms says the SMS provider already answers STOP, START and
	// HELP itself (Twilio's default opt-out handling); the handler then
	// still records the change but replies with empty TwiML, so the customer
	// gets one confirmation, not two.
	ProviderConfirms bool

	// The inbound SMS endpoint's credential; without one it is not served
	// (anyone could otherwise send STOP or START for any number).
	//
	// TwilioAuthToken checks Twilio's X-Twilio-Signature (403 when it is
	// missing or wrong). InboundSecret, one or more space-separated
	// "whsec_..." secrets, checks the Standard Webhooks headers a generic
	// provider signs with (webhook-id, webhook-timestamp, webhook-signature;
	// 401 when missing, wrong or more than 5 minutes off the clock). Set one,
	// not both. A signed request is accepted once: its replay gets 403.
	TwilioAuthToken string
	InboundSecret   string
	// Surveys reads an inbound SMS that is no keyword as a survey answer
	// (a score replying to the survey last sent to the number); nil: none.
	Surveys SurveyReplies
	// OptIn confirms double opt-in requests (GET/POST /confirm/{token});
	// nil: the route is not served.
	OptIn OptIn
	// Now is the clock of inbound timestamps (default time.Now).
	Now func() time.Time
	// PublicURL is the scheme://host[:port] the provider calls, used to
	// rebuild the signed URL behind a proxy. Empty means the request's own
	// Host, with https when the connection is TLS.
	PublicURL string

	Logger *slog.Logger
}

// SurveyReplies records an inbound SMS that answers a survey (web/survey's
// Replies): handled is false when body answers none, and reply is the SMS
// to answer with ("" for none).
type SurveyReplies interface {
	Reply(ctx context.Context, custs []*store.Customer, body string) (reply string, handled bool, err error)
}

// handler serves the unsubscribe link and the inbound SMS webhook.
type handler struct {
	opts    Options
	log     *slog.Logger
	inbound *inboundAuth // nil: no inbound credential, no inbound endpoint
}

// Handler returns the HTTP handler for the opt-out endpoints:
//
//	GET  /u/{token}         a confirmation page with a POST form; changes nothing
//	POST /u/{token}         RFC 8058 one-click unsubscribe (suppress + clear consent)
//	GET  /p/{token}         the preference page: topics, save, unsubscribe from all
//	POST /p/{token}         its form (a token of the page in the form, no script)
//	GET  /confirm/{token}   double opt-in: a button confirming the sign-up (Options.OptIn)
//	POST /confirm/{token}   its form: the email consent starts
//	POST /v1/sms/inbound    inbound SMS: STOP, START, HELP keywords (with a
//	                        credential only: Options.TwilioAuthToken or InboundSecret)
//
// It fails when the store is missing, the signing key is too short or the
// inbound secret is not a "whsec_..." secret.
func Handler(opts Options) (openapi.Router, error) {
	if opts.Store == nil {
		return nil, errors.New("unsubscribe: handler needs a store")
	}
	if err := opts.Signer.Check(); err != nil {
		return nil, err
	}
	if opts.Brand == "" {
		opts.Brand = "Tidings"
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	h := &handler{opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	mux := &openapi.Mux{}
	mux.HandleFunc("GET /u/{token}", h.confirmPage)
	mux.HandleFunc("POST /u/{token}", h.oneClick)
	mux.HandleFunc("GET /p/{token}", h.preferences)
	mux.HandleFunc("POST /p/{token}", h.savePreferences)
	if opts.OptIn != nil {
		mux.HandleFunc("GET /confirm/{token}", h.optInPage)
		mux.HandleFunc("POST /confirm/{token}", h.confirmOptIn)
	}
	inbound, err := newInboundAuth(opts, h.requestURL)
	if err != nil {
		return nil, err
	}
	if inbound != nil {
		h.inbound = inbound
		mux.HandleFunc("POST /v1/sms/inbound", h.smsInbound)
	}
	return mux, nil
}

// confirmPage shows what the link would do and a button that POSTs it.
// Mail scanners and link previews follow GETs, so a GET never unsubscribes.
func (h *handler) confirmPage(w http.ResponseWriter, r *http.Request) {
	sub, err := h.opts.Signer.Verify(r.PathValue("token"))
	if err != nil || !knownChannel(sub.Channel) {
		h.page(w, http.StatusBadRequest, pageInvalid, "")
		return
	}
	h.page(w, http.StatusOK, pageConfirm, sub.Channel)
}

// oneClick unsubscribes the token's customer from the token's channel. It
// needs no cookie and accepts the RFC 8058 body in either form encoding
// (any body, in fact: the signed token is the authority). It answers 200
// with a short page, never a redirect.
func (h *handler) oneClick(w http.ResponseWriter, r *http.Request) {
	sub, err := h.opts.Signer.Verify(r.PathValue("token"))
	if err != nil || !knownChannel(sub.Channel) {
		h.log.InfoContext(r.Context(), "unsubscribe: rejected link", "err", err)
		h.page(w, http.StatusBadRequest, pageInvalid, "")
		return
	}
	drainForm(w, r)
	if err := h.unsubscribe(r.Context(), sub); err != nil {
		h.log.ErrorContext(r.Context(), "unsubscribe: failed", "customer", sub.CustomerID,
			"delivery", sub.DeliveryID, "campaign", sub.Campaign, "channel", sub.Channel, "err", err)
		h.page(w, http.StatusInternalServerError, pageError, sub.Channel)
		return
	}
	h.page(w, http.StatusOK, pageDone, sub.Channel)
}

// unsubscribe suppresses the customer's address on sub's channel and clears
// the consent flag. A customer who no longer exists has nothing to send to.
func (h *handler) unsubscribe(ctx context.Context, sub Subject) error {
	return h.unsubscribeAs(ctx, sub, store.ConsentUnsubscribe)
}

// unsubscribeAs is unsubscribe recording source in the consent history.
func (h *handler) unsubscribeAs(ctx context.Context, sub Subject, source string) error {
	c, err := h.opts.Store.CustomerByID(ctx, sub.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		h.log.InfoContext(ctx, "unsubscribe: customer no longer exists", "customer", sub.CustomerID,
			"delivery", sub.DeliveryID, "campaign", sub.Campaign)
		return nil
	}
	if err != nil {
		return err
	}
	addr := c.Email
	if sub.Channel == channels.SMS {
		addr = c.Phone
	}
	if strings.TrimSpace(addr) != "" {
		if err := h.opts.Store.Suppress(ctx, sub.Channel, addr, store.SuppressUnsubscribe, c.ID); err != nil {
			return err
		}
	}
	if err := h.opts.Store.SetConsent(ctx, c.ID, sub.Channel, false, source); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("clear consent: %w", err)
	}
	h.log.InfoContext(ctx, "unsubscribed", "customer", c.ID, "delivery", sub.DeliveryID,
		"campaign", sub.Campaign, "channel", sub.Channel, "address", channels.Redact(addr))
	return nil
}

// drainForm reads the (small) form body so the connection can be reused.
// A malformed body does not stop the unsubscribe.
func drainForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		_ = r.ParseMultipartForm(maxBody)
		return
	}
	_ = r.ParseForm()
}

func knownChannel(ch channels.Name) bool { return ch == channels.Email || ch == channels.SMS }
