package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/channels"
)

// Twilio error codes with a meaning for the caller.
const (
	// CodeInvalidNumber: the To number is not a valid phone number.
	CodeInvalidNumber = 21211
	// CodeUnsubscribed: the recipient replied STOP; suppress the number.
	CodeUnsubscribed = 21610
	// CodeQueueFull: the sender's queue is full; retry later.
	CodeQueueFull = 21611
	// CodeTooManyRequests: rate limited.
	CodeTooManyRequests = 20429
)

// TwilioConfig configures a Twilio-compatible adapter.
type TwilioConfig struct {
	// BaseURL is the API root; default https://api.twilio.com.
	BaseURL    string
	AccountSID string
	AuthToken  string
	// From is the sender number; MessagingServiceSID replaces it when set.
	From                string
	MessagingServiceSID string
	// StatusCallback is an optional delivery-receipt webhook URL.
	StatusCallback string
	// Timeout bounds one API request (default 15s).
	Timeout time.Duration
	// HTTPClient is optional (default: a plain http.Client).
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Twilio sends SMS through the Twilio Messages API (or any provider that
// speaks it). It is safe for concurrent use.
type Twilio struct {
	cfg      TwilioConfig
	endpoint string
	t        *transport
}

var _ channels.Channel = (*Twilio)(nil)

// NewTwilio validates cfg and returns the adapter.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://api.twilio.com"
	}
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return nil, fmt.Errorf("sms: twilio: account sid and auth token are required")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		return nil, fmt.Errorf("sms: twilio: a From number or a MessagingServiceSid is required")
	}
	if _, err := url.Parse(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("sms: twilio: base url: %w", err)
	}
	endpoint := strings.TrimRight(cfg.BaseURL, "/") + "/2010-04-01/Accounts/" +
		url.PathEscape(cfg.AccountSID) + "/Messages.json"
	return &Twilio{cfg: cfg, endpoint: endpoint, t: newTransport(cfg.HTTPClient, cfg.Timeout, cfg.Logger)}, nil
}

// Name returns channels.SMS.
func (tw *Twilio) Name() channels.Name { return channels.SMS }

// twilioError is the JSON error body of the Twilio API.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// Send posts m.Text to m.To. ProviderID is the message SID; Segments is
// what Segments(m.Text) counts.
func (tw *Twilio) Send(ctx context.Context, m *channels.Message) (channels.Result, error) {
	if err := checkNumber(m.To); err != nil {
		return channels.Result{}, err
	}
	form := url.Values{"To": {m.To}, "Body": {m.Text}}
	if tw.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", tw.cfg.MessagingServiceSID)
	} else {
		form.Set("From", tw.cfg.From)
	}
	if tw.cfg.StatusCallback != "" {
		form.Set("StatusCallback", tw.cfg.StatusCallback)
	}
	body := form.Encode()
	resp, err := tw.t.do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tw.endpoint, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth(tw.cfg.AccountSID, tw.cfg.AuthToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return channels.Result{}, err
	}
	_, segments := Segments(m.Text)
	if resp.status/100 == 2 {
		var ok struct {
			SID string `json:"sid"`
		}
		if err := json.Unmarshal(resp.body, &ok); err != nil || ok.SID == "" {
			// Accepted, but we cannot tell which message: do not resend blindly.
			return channels.Result{}, &channels.SendError{Ambiguous: true, Code: "bad_response",
				Err: fmt.Errorf("sms: twilio: %d without a message sid", resp.status)}
		}
		tw.t.log.DebugContext(ctx, "sent", "delivery", m.DeliveryID, "campaign", m.Campaign,
			"address", channels.Redact(m.To), "provider_id", ok.SID, "segments", segments)
		return channels.Result{ProviderID: ok.SID, Segments: segments}, nil
	}
	return channels.Result{}, tw.classify(resp)
}

// classify maps a Twilio error answer. 21610 is permanent and flagged
// Unsubscribed; 21611 and 20429 are transient whatever the status says.
func (tw *Twilio) classify(resp response) error {
	var te twilioError
	_ = json.Unmarshal(resp.body, &te)
	code := ""
	if te.Code != 0 {
		code = strconv.Itoa(te.Code)
	}
	detail := te.Message
	if detail == "" {
		detail = http.StatusText(resp.status)
	}
	se := tw.t.classifyStatus(resp, code, detail)
	switch te.Code {
	case CodeUnsubscribed:
		se.Permanent, se.Unsubscribed = true, true
	case CodeQueueFull, CodeTooManyRequests:
		se.Permanent = false
	}
	return se
}
