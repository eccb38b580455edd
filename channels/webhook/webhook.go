// Package webhook is the webhook channel: a message posted as signed JSON
// to a URL (a Slack incoming webhook, a push gateway, a chat tool), through
// the same ledger as email and SMS.
//
// The URL comes from the campaign (a template, so it may be built from
// data), which makes it a way to reach any address the server can: the
// channel posts only to the hosts its configuration lists
// (TIDINGS_WEBHOOK_HOSTS), follows a redirect only to a listed host, and
// refuses a listed name that resolves to a private, loopback or
// link-local address unless that address itself is listed. A refusal is a
// permanent error that names the host and the setting, never the URL
// (a Slack webhook URL is a credential).
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/stdwebhook"
)

// Config configures the webhook channel.
type Config struct {
	// Hosts are where messages may be posted: "hooks.slack.com" (its
	// scheme's default port), "push.example.com:8443", "*.example.com"
	// (any subdomain), or an address "10.0.0.7:9000" (which also allows
	// that private address). Required.
	Hosts []string
	// Secret, when set ("whsec_..."), signs every post per Standard
	// Webhooks, so the receiver can check it came from us.
	Secret string
	// Timeout bounds one post (default 10 s).
	Timeout time.Duration
}

// Sender posts messages. Safe for concurrent use.
type Sender struct {
	cfg    Config
	hosts  Hosts
	client *http.Client
}

// Hosts is a parsed allowlist (TIDINGS_WEBHOOK_HOSTS): the channel checks
// every post against it, and campaign loading checks every webhook url, so
// a campaign naming another host fails `tidings validate`.
type Hosts struct{ rules []hostRule }

// ParseHosts reads allowlist entries: "hooks.slack.com",
// "push.example.com:8443", "*.example.com" or "10.0.0.7:9000".
func ParseHosts(entries []string) (Hosts, error) {
	var h Hosts
	for _, e := range entries {
		r, err := parseHost(e)
		if err != nil {
			return Hosts{}, err
		}
		h.rules = append(h.rules, r)
	}
	return h, nil
}

var _ channels.Channel = (*Sender)(nil)

// hostRule is one allowed host.
type hostRule struct {
	host     string // lower case; "*.example.com" keeps the leading "*."
	port     string // "" for the scheme's default
	literal  net.IP // set when the entry is an address
	wildcard bool
}

// New checks cfg and returns the channel.
func New(cfg Config) (*Sender, error) {
	if len(cfg.Hosts) == 0 {
		return nil, errors.New("webhook channel: no host is allowed; list the hosts messages may go to in TIDINGS_WEBHOOK_HOSTS (e.g. hooks.slack.com)")
	}
	if cfg.Secret != "" {
		if _, err := stdwebhook.ParseSecret(cfg.Secret); err != nil {
			return nil, fmt.Errorf("webhook channel: secret: %w", err)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	hosts, err := ParseHosts(cfg.Hosts)
	if err != nil {
		return nil, fmt.Errorf("webhook channel: TIDINGS_WEBHOOK_HOSTS: %w", err)
	}
	s := &Sender{cfg: cfg, hosts: hosts}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: s.checkDial}
	s.client = &http.Client{
		Timeout:   cfg.Timeout,
		Transport: &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 5 * time.Second, Proxy: nil},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("more than 3 redirects")
			}
			if !s.hosts.Allows(req.URL) {
				return &refused{fmt.Sprintf("redirect to host %q, which is not in TIDINGS_WEBHOOK_HOSTS", req.URL.Hostname())}
			}
			return nil
		},
	}
	return s, nil
}

func parseHost(entry string) (hostRule, error) {
	e := strings.ToLower(strings.TrimSpace(entry))
	if e == "" || strings.ContainsAny(e, "/?#@ ") {
		return hostRule{}, fmt.Errorf("%q is not a host; write a name such as hooks.slack.com, *.example.com or host:port", entry)
	}
	host, port := e, ""
	if h, p, err := net.SplitHostPort(e); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return hostRule{}, fmt.Errorf("%q: the port must be a number", entry)
		}
	}
	if host == "" {
		return hostRule{}, fmt.Errorf("%q has no host name", entry)
	}
	r := hostRule{host: host, port: port, literal: net.ParseIP(strings.Trim(host, "[]"))}
	if rest, ok := strings.CutPrefix(host, "*."); ok && rest != "" {
		r.wildcard, r.host = true, rest
	}
	return r, nil
}

// Name is channels.Webhook.
func (s *Sender) Name() channels.Name { return channels.Webhook }

// Allows reports whether u is http(s) and its host and port are listed.
func (h Hosts) Allows(u *url.URL) bool {
	if u.Scheme != "https" && u.Scheme != "http" {
		return false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	return slices.ContainsFunc(h.rules, func(r hostRule) bool {
		if r.port != "" && r.port != port || r.port == "" && port != "443" && port != "80" {
			return false
		}
		if r.wildcard {
			return strings.HasSuffix(host, "."+r.host)
		}
		return host == r.host
	})
}

// checkDial refuses a connection to a private, loopback, link-local or
// unspecified address that is not itself listed: a listed name must not
// lead inside the network (DNS pointing a public name at 127.0.0.1).
func (s *Sender) checkDial(_, address string, _ syscall.RawConn) error {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return &refused{fmt.Sprintf("address %q is not an IP", host)}
	}
	if !(ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()) {
		return nil
	}
	if slices.ContainsFunc(s.hosts.rules, func(r hostRule) bool {
		return r.literal != nil && r.literal.Equal(ip) && (r.port == "" || r.port == port)
	}) {
		return nil
	}
	return &refused{fmt.Sprintf("the host resolves to the private address %s, which is not in TIDINGS_WEBHOOK_HOSTS "+
		"(list the address itself to allow it)", ip)}
}

// refused is a post the channel would not make.
type refused struct{ why string }

func (r *refused) Error() string { return "webhook channel: refused: " + r.why }

// body is what the channel posts.
type body struct {
	Text       string `json:"text"`
	Subject    string `json:"subject,omitempty"`
	Campaign   string `json:"campaign"`
	Variant    string `json:"variant,omitempty"`
	Locale     string `json:"locale,omitempty"`
	DeliveryID int64  `json:"delivery_id"`
}

// MessageID is the webhook-id of a delivery's post: the same on every
// retry, so the receiver can deduplicate.
func MessageID(deliveryID int64) string { return "msg_delivery_" + strconv.FormatInt(deliveryID, 10) }

// Send posts m.Text (and the delivery's ids) as JSON to the URL in m.To:
// {"text": ..., "campaign": ..., "delivery_id": ...}, the shape a Slack
// incoming webhook reads. A host not listed is a permanent error, before
// any connection.
func (s *Sender) Send(ctx context.Context, m *channels.Message) (channels.Result, error) {
	u, err := url.Parse(m.To)
	if err != nil || u.Host == "" {
		return channels.Result{}, channels.Permanent("bad_url", errors.New("webhook channel: the message's url is not an absolute URL"))
	}
	if !s.hosts.Allows(u) {
		return channels.Result{}, channels.Permanent("host_not_allowed", fmt.Errorf(
			"webhook channel: host %q (%s) is not in TIDINGS_WEBHOOK_HOSTS; add it there, or fix the campaign's url",
			u.Hostname(), u.Scheme))
	}
	payload, err := json.Marshal(body{Text: m.Text, Subject: m.Subject, Campaign: m.Campaign, Variant: m.Variant,
		Locale: m.Locale, DeliveryID: m.DeliveryID})
	if err != nil {
		return channels.Result{}, channels.Permanent("encode", err)
	}
	id := MessageID(m.DeliveryID)
	req, err := s.request(ctx, u.String(), id, payload)
	if err != nil {
		return channels.Result{}, channels.Permanent("request", err)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return channels.Result{}, classify(ctx, err)
	}
	defer res.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, 300))
	if res.StatusCode/100 == 2 {
		return channels.Result{ProviderID: id}, nil
	}
	answer := fmt.Errorf("webhook channel: %s answered %s: %s", u.Hostname(), res.Status, bytes.TrimSpace(snippet))
	switch {
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		se := channels.Transient(strconv.Itoa(res.StatusCode), answer)
		if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs > 0 {
			se.RetryAfter = time.Duration(secs) * time.Second
		}
		return channels.Result{}, se
	case res.StatusCode/100 == 3:
		return channels.Result{}, channels.Permanent(strconv.Itoa(res.StatusCode), fmt.Errorf("%w (a redirect without a usable Location)", answer))
	}
	return channels.Result{}, channels.Permanent(strconv.Itoa(res.StatusCode), answer)
}

// request builds the POST, signed when the channel has a secret.
func (s *Sender) request(ctx context.Context, target, id string, payload []byte) (*http.Request, error) {
	if s.cfg.Secret != "" {
		return stdwebhook.SignedRequest(ctx, s.cfg.Secret, target, id, time.Now(), payload)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(stdwebhook.HeaderID, id)
	return req, nil
}

// classify turns a failed post into the channels' error model: our own
// refusal is permanent, the caller's end is returned as is, a connection
// that never opened is transient, and anything after the request may have
// left is ambiguous (the receiver may have acted on it).
func classify(ctx context.Context, err error) error {
	var r *refused
	var op *net.OpError
	switch {
	case errors.As(err, &r):
		return channels.Permanent("host_not_allowed", r)
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &op) && op.Op == "dial":
		return channels.Transient("connection", fmt.Errorf("webhook channel: %w", op.Err))
	}
	return &channels.SendError{Ambiguous: true, Code: "timeout", Err: fmt.Errorf("webhook channel: %w", stripURL(err))}
}

// stripURL keeps the URL (a credential, for Slack) out of an error text.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
