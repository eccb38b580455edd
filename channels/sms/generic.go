package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tidings-crm/tidings/channels"
)

// GenericConfig configures the generic JSON-over-HTTP adapter.
type GenericConfig struct {
	// URL receives a POST per message.
	URL string
	// Token is sent as "Authorization: Bearer <token>".
	Token string
	// From is the sender id or number.
	From string
	// Timeout bounds one request (default 15s).
	Timeout    time.Duration
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Generic sends SMS to any HTTP gateway that accepts
//
//	POST {url}  {"to": "+1...", "from": "...", "text": "...", "reference": "<delivery id>"}
//
// with a bearer token and answers 2xx with {"id": "..."}. The reference lets
// the gateway deduplicate a retried delivery. Safe for concurrent use.
type Generic struct {
	cfg GenericConfig
	t   *transport
}

var _ channels.Channel = (*Generic)(nil)

// NewGeneric validates cfg and returns the adapter.
func NewGeneric(cfg GenericConfig) (*Generic, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sms: generic: url %q: want an http(s) URL", cfg.URL)
	}
	return &Generic{cfg: cfg, t: newTransport(cfg.HTTPClient, cfg.Timeout, cfg.Logger)}, nil
}

// Name returns channels.SMS.
func (g *Generic) Name() channels.Name { return channels.SMS }

type genericRequest struct {
	To        string `json:"to"`
	From      string `json:"from"`
	Text      string `json:"text"`
	Reference string `json:"reference"`
}

// Send posts m to the gateway. ProviderID is the gateway's id.
func (g *Generic) Send(ctx context.Context, m *channels.Message) (channels.Result, error) {
	if err := checkNumber(m.To); err != nil {
		return channels.Result{}, err
	}
	payload, err := json.Marshal(genericRequest{To: m.To, From: g.cfg.From, Text: m.Text,
		Reference: strconv.FormatInt(m.DeliveryID, 10)})
	if err != nil {
		return channels.Result{}, channels.Permanent("invalid_request", fmt.Errorf("sms: generic: encode: %w", err))
	}
	resp, err := g.t.do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.URL, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		if g.cfg.Token != "" {
			req.Header.Set("Authorization", "Bearer "+g.cfg.Token)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return channels.Result{}, err
	}
	_, segments := Segments(m.Text)
	if resp.status/100 != 2 {
		var e struct {
			Code    json.RawMessage `json:"code"`
			Error   string          `json:"error"`
			Message string          `json:"message"`
		}
		_ = json.Unmarshal(resp.body, &e)
		detail := e.Message + e.Error
		if detail == "" {
			detail = http.StatusText(resp.status)
		}
		code := ""
		if len(e.Code) > 0 && string(e.Code) != "null" {
			code = string(bytes.Trim(e.Code, `"`))
		}
		return channels.Result{}, g.t.classifyStatus(resp, code, detail)
	}
	var ok struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(resp.body, &ok); err != nil || len(ok.ID) == 0 || string(ok.ID) == "null" {
		return channels.Result{}, &channels.SendError{Ambiguous: true, Code: "bad_response",
			Err: fmt.Errorf("sms: generic: %d without an id", resp.status)}
	}
	id := string(bytes.Trim(ok.ID, `"`))
	g.t.log.DebugContext(ctx, "sent", "delivery", m.DeliveryID, "campaign", m.Campaign,
		"address", channels.Redact(m.To), "provider_id", id, "segments", segments)
	return channels.Result{ProviderID: id, Segments: segments}, nil
}
