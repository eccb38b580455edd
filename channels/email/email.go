package email

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/tidings-crm/tidings/channels"
)

// Sender is the SMTP channel. It keeps up to Config.PoolSize SMTP sessions
// open and reuses them across sends, reconnecting after a failure. It is safe
// for concurrent use; Close it on shutdown.
type Sender struct {
	cfg    Config
	id     Identity
	client *mail.Client // configuration and session setup; sessions live in pool
	// warm sends on a connection used moments ago without the NOOP liveness
	// check, saving a round trip per message in a busy run.
	warm *mail.Client
	pool *pool
	log  *slog.Logger
}

var _ channels.Channel = (*Sender)(nil)

// New validates cfg and returns a Sender. It does not connect: the first
// sends open the pooled connections.
func New(cfg Config) (*Sender, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tlsConfig := cfg.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	}
	opts := []mail.Option{
		mail.WithPort(cfg.Port),
		mail.WithTimeout(cfg.IOTimeout),
		mail.WithTLSConfig(tlsConfig),
		mail.WithDialContextFunc(dialFunc(cfg.TLS == TLSImplicit, tlsConfig)),
		mail.WithoutRset(), // a completed DATA already ends the transaction
	}
	switch cfg.TLS {
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
	case TLSRequired:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if cfg.HELO != "" {
		opts = append(opts, mail.WithHELO(cfg.HELO))
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	client, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("email: new client: %w", err)
	}
	warm, err := mail.NewClient(cfg.Host, append(opts, mail.WithoutNoop())...)
	if err != nil {
		return nil, fmt.Errorf("email: new client: %w", err)
	}
	return &Sender{
		cfg:    cfg,
		id:     Identity{From: cfg.From, FromName: cfg.FromName, MessageIDDomain: cfg.MessageIDDomain, ReturnPath: cfg.ReturnPath},
		client: client,
		warm:   warm,
		pool:   newPool(cfg.PoolSize),
		log:    cfg.Logger.With("channel", channels.Email),
	}, nil
}

// Name returns channels.Email.
func (s *Sender) Name() channels.Name { return channels.Email }

// Close closes the pooled connections. Sends still in flight finish; their
// connections are closed when they return.
func (s *Sender) Close() error {
	s.pool.closeAll()
	return nil
}

// Send composes m and delivers it over a pooled SMTP session. The returned
// ProviderID is the message's Message-ID (without angle brackets), which is
// the same for every retry of the same delivery.
func (s *Sender) Send(ctx context.Context, m *channels.Message) (channels.Result, error) {
	if err := ctx.Err(); err != nil {
		return channels.Result{}, fmt.Errorf("email: send: %w", err)
	}
	msg, err := Compose(m, s.id, time.Now())
	if err != nil {
		return channels.Result{}, err
	}
	// Signed before a connection is taken: the SMTP transaction (pipelined
	// or not) then writes the message as it always does.
	if s.cfg.DKIM != nil {
		if err := s.cfg.DKIM.sign(msg); err != nil {
			return channels.Result{}, err
		}
	}
	c, err := s.pool.acquire(ctx, s.cfg.IdleTimeout)
	if err != nil {
		return channels.Result{}, fmt.Errorf("email: send: wait for connection: %w", err)
	}
	c, reply, err := s.deliver(ctx, c, msg)
	s.pool.release(c)
	if err != nil {
		s.log.DebugContext(ctx, "send failed", "delivery", m.DeliveryID, "campaign", m.Campaign,
			"address", channels.Redact(m.To), "err", err)
		return channels.Result{}, err
	}
	s.log.DebugContext(ctx, "sent", "delivery", m.DeliveryID, "campaign", m.Campaign,
		"address", channels.Redact(m.To), "response", reply)
	return channels.Result{ProviderID: MessageID(m.DeliveryID, s.id.MessageIDDomain)}, nil
}

// deliver sends msg over c (dialling when c is nil) and returns the connection
// to keep, or nil when it must be dropped, and the server's reply. A reused
// connection that fails its liveness check before anything was sent is
// replaced once.
func (s *Sender) deliver(ctx context.Context, c *conn, msg *mail.Msg) (*conn, string, error) {
	reused := c != nil
	for {
		if c == nil {
			var err error
			if c, err = s.dial(ctx); err != nil {
				return nil, "", classifyDial(ctx, err)
			}
		}
		reply, err := s.sendOn(ctx, c, msg)
		if err == nil {
			return c, reply, nil
		}
		keep := connUsable(err)
		if !keep {
			c.abort()
		}
		if ctx.Err() != nil {
			return nil, "", classifyCanceled(ctx, err)
		}
		if reused && (isConnCheck(err) || deadAtMailFrom(err)) {
			reused, c = false, nil
			continue
		}
		if keep {
			return c, "", classifySend(err)
		}
		return nil, "", classifySend(err)
	}
}

// warmFor is how recently a pooled connection must have completed a send to
// skip the NOOP check: a server does not drop a session it served a moment
// ago, except by policy, which the MAIL FROM failure then reveals.
const warmFor = 2 * time.Second

// sendOn runs one SMTP transaction, interrupting it if ctx ends, pipelined
// when the server allows it.
func (s *Sender) sendOn(ctx context.Context, c *conn, msg *mail.Msg) (string, error) {
	stop := context.AfterFunc(ctx, func() { _ = c.raw.Close() })
	defer stop()
	warm := time.Since(c.lastUsed) < warmFor
	if pipelines(c.client) {
		return s.sendPipelined(c, msg, !warm)
	}
	var err error
	if warm {
		err = s.warm.SendWithSMTPClient(c.client, msg)
	} else {
		err = s.client.SendWithSMTPClient(c.client, msg)
	}
	return msg.ServerResponse(), err
}
