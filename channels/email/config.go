// Package email is the SMTP channel: it composes a multipart message with
// go-mail (github.com/wneessen/go-mail) and delivers it over a small pool of
// reused SMTP connections, classifying the server's replies into the
// channels error model (4xx transient, 5xx permanent, 5.1.x hard bounce).
package email

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TLSMode says how the connection to the SMTP server is secured.
type TLSMode string

// TLS modes accepted in the tls= query parameter of an smtp:// URL.
const (
	// TLSStartTLS upgrades with STARTTLS when the server offers it
	// (opportunistic). The default for smtp:// URLs.
	TLSStartTLS TLSMode = "starttls"
	// TLSRequired refuses to send unless STARTTLS succeeds.
	TLSRequired TLSMode = "required"
	// TLSNone never uses TLS (a local relay or a test server).
	TLSNone TLSMode = "none"
	// TLSImplicit dials TLS from the first byte (smtps:// URLs, port 465).
	TLSImplicit TLSMode = "implicit"
)

// Config configures a Sender. Build it by hand or start from ParseURL.
type Config struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      TLSMode
	// TLSConfig overrides the TLS client configuration, e.g. custom RootCAs
	// for a private relay or a test server. nil uses the system roots with
	// ServerName set to Host.
	TLSConfig *tls.Config

	// From is the sender address; FromName its display name.
	From     string
	FromName string
	// MessageIDDomain is the right-hand side of generated Message-IDs;
	// default: the domain of From.
	MessageIDDomain string
	// ReturnPath, when set, is the envelope sender of each message: a
	// bounce address naming the delivery (VERP, see NewVERP).
	ReturnPath *VERP
	// DKIM, when set, signs each message (see DKIM).
	DKIM *DKIM
	// HELO is the name sent in EHLO; default: the machine's hostname.
	HELO string

	// PoolSize is how many SMTP connections are kept and reused (default 4).
	PoolSize int
	// DialTimeout bounds connecting, greeting, STARTTLS and AUTH (default 10s).
	DialTimeout time.Duration
	// IOTimeout bounds each SMTP command/reply once connected (default 30s).
	IOTimeout time.Duration
	// IdleTimeout closes pooled connections unused for longer than this
	// (default 60s), before most servers drop them.
	IdleTimeout time.Duration

	// Logger receives debug/warn logs; nil uses slog.Default().
	Logger *slog.Logger
}

// ParseURL reads an SMTP URL into a Config:
//
//	smtp://user:pass@host:port?tls=starttls|required|none   (default port 587, tls=starttls)
//	smtps://user:pass@host:port                             (implicit TLS, default port 465)
//
// Sender identity, pool size and timeouts are set on the returned Config.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("email: parse smtp url: %w", URLError(raw, err))
	}
	var cfg Config
	switch u.Scheme {
	case "smtp":
		cfg.Port, cfg.TLS = 587, TLSStartTLS
		if m := u.Query().Get("tls"); m != "" {
			cfg.TLS = TLSMode(strings.ToLower(m))
		}
		if cfg.TLS != TLSStartTLS && cfg.TLS != TLSRequired && cfg.TLS != TLSNone {
			return Config{}, fmt.Errorf("email: smtp url: tls=%q: want starttls, required or none", cfg.TLS)
		}
	case "smtps":
		cfg.Port, cfg.TLS = 465, TLSImplicit
	default:
		return Config{}, fmt.Errorf("email: smtp url: scheme %q: want smtp:// or smtps://", u.Scheme)
	}
	cfg.Host = u.Hostname()
	if cfg.Host == "" {
		return Config{}, fmt.Errorf("email: smtp url: missing host")
	}
	if p := u.Port(); p != "" {
		cfg.Port, err = strconv.Atoi(p)
		if err != nil || cfg.Port < 1 || cfg.Port > 65535 {
			return Config{}, fmt.Errorf("email: smtp url: bad port %q", p)
		}
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	return cfg, nil
}

// RedactURL returns raw fit for an error message or a log: the password of
// a URL that parses is replaced by "xxxxx" (url.URL.Redacted), and in one that
// does not (an unescaped "/" or "#" in the password is the usual reason)
// everything between the scheme and the last "@" is hidden. A URL without
// credentials is returned as is.
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	at := strings.LastIndexByte(raw, '@')
	if at < 0 {
		return raw
	}
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 && i < at {
		start = i + len("://")
	}
	return raw[:start] + "xxxxx" + raw[at:]
}

// URLError rewrites a url.Parse error for printing. url.Error quotes the
// whole URL, password included, and its reason can quote part of it too (an
// unescaped "/" in a password makes the rest of the password the "port"). So
// when the URL carries credentials the reason becomes advice on escaping, and
// the URL is shown redacted. Other errors are returned unchanged.
func URLError(raw string, err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if strings.Contains(raw, "@") {
		return fmt.Errorf("%s does not parse: percent-encode the user name and password "+
			"(/ as %%2F, # as %%23, ? as %%3F, @ as %%40, : as %%3A, %% as %%25)", RedactURL(raw))
	}
	return fmt.Errorf("%s: %w", raw, ue.Err)
}

// withDefaults validates cfg and fills in defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Host == "" || cfg.Port == 0 {
		return cfg, fmt.Errorf("email: config: host and port are required")
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	addr, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return cfg, fmt.Errorf("email: config: from address: %w", err)
	}
	cfg.From = addr.Address
	if cfg.DKIM != nil {
		d := *cfg.DKIM
		if err := d.check(cfg.From); err != nil {
			return cfg, err
		}
		cfg.DKIM = &d
	}
	if cfg.MessageIDDomain == "" {
		cfg.MessageIDDomain = cfg.From[strings.LastIndexByte(cfg.From, '@')+1:]
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 4
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.IOTimeout <= 0 {
		cfg.IOTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}
