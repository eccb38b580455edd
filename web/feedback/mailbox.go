package feedback

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/email/bounce"
	"github.com/tidings-crm/tidings/store"
)

// ProviderIMAP names the bounce mailbox as the source of a report.
const ProviderIMAP = "imap"

// DeleteProcessed, as MailboxOptions.Processed, deletes processed mail
// instead of moving it.
const DeleteProcessed = "delete"

// flagSkipped marks mail a pass read and left in place (a person's mail,
// an auto-reply without a folder to go to), so the next pass does not read
// it again.
const flagSkipped = "$TidingsSkipped"

// MailboxOptions configures the bounce mailbox pass.
type MailboxOptions struct {
	// URL is imaps://user:password@host:993/INBOX (TLS), or imap://...
	// (STARTTLS, required but on a loopback address). The path is the
	// folder read; INBOX when empty.
	URL string
	// Processed is the folder processed bounces and complaints are moved
	// to (created when missing), or DeleteProcessed.
	Processed string
	// AutoReplies is the folder auto-replies are moved to; "" leaves them
	// where they are, marked so no later pass reads them again.
	AutoReplies string
	Store       Recorder
	VERP        *email.VERP
	Logger      *slog.Logger
	// TLS is the client's TLS configuration (tests trust their own CA);
	// nil uses the system roots and the URL's host name.
	TLS *tls.Config
	// Timeout bounds each IMAP command (default 1 minute).
	Timeout time.Duration
}

// Mailbox reads a bounce mailbox: each pass records the bounces and
// complaints it finds through the Recorder and moves them away.
type Mailbox struct {
	opts           MailboxOptions
	addr, folder   string
	user, password string
	implicitTLS    bool
}

// PassResult counts what one pass did with the mail it read.
type PassResult struct {
	Read        int // messages read
	Recorded    int // reports recorded (hard, soft, complaint, delivered)
	Duplicates  int // reports recorded by an earlier pass
	Suppressed  int // addresses the reports suppressed
	Delays      int // delay warnings: the MTA still retries; nothing recorded
	AutoReplies int // auto-replies (not bounces)
	Other       int // mail that is neither, left for a person
}

// NewMailbox checks opts; the URL's password is never logged or shown in
// its errors.
func NewMailbox(opts MailboxOptions) (*Mailbox, error) {
	if opts.Store == nil {
		return nil, errors.New("feedback: the bounce mailbox needs a Store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	m, err := parseMailboxURL(opts.URL)
	if err != nil {
		return nil, err
	}
	m.opts = opts
	if opts.Processed == "" {
		return nil, fmt.Errorf("feedback: bounce mailbox: say where processed mail goes: a folder, or %q", DeleteProcessed)
	}
	return m, nil
}

// CheckMailboxURL reports what is wrong with a bounce mailbox URL, without
// its password.
func CheckMailboxURL(raw string) error {
	_, err := parseMailboxURL(raw)
	return err
}

func parseMailboxURL(raw string) (*Mailbox, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("feedback: bounce mailbox URL does not parse; write imaps://user:password@host:993/INBOX (escape special characters of the password with %XX)")
	}
	m := &Mailbox{folder: strings.TrimPrefix(u.Path, "/")}
	switch u.Scheme {
	case "imaps":
		m.implicitTLS = true
		m.addr = hostPort(u, "993")
	case "imap":
		m.addr = hostPort(u, "143")
	default:
		return nil, fmt.Errorf("feedback: bounce mailbox URL scheme %q: write imaps://user:password@host:993/INBOX (or imap:// for STARTTLS)", u.Scheme)
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, fmt.Errorf("feedback: bounce mailbox URL %s has no user: write imaps://user:password@%s/%s", m.safeURL(), u.Host, m.folder)
	}
	m.user = u.User.Username()
	m.password, _ = u.User.Password()
	if m.folder == "" {
		m.folder = "INBOX"
	}
	return m, nil
}

func hostPort(u *url.URL, port string) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// safeURL is the mailbox URL without its password, for logs and errors.
func (m *Mailbox) safeURL() string {
	scheme := "imap"
	if m.implicitTLS {
		scheme = "imaps"
	}
	return scheme + "://" + m.addr + "/" + m.folder
}

// Run does a pass every interval until ctx ends; each pass's result (or
// error, logged) goes to done when it is not nil.
func (m *Mailbox) Run(ctx context.Context, interval time.Duration, done func(PassResult, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := m.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			m.opts.Logger.Error("bounce mailbox pass failed", "mailbox", m.safeURL(), "err", err)
		} else if res.Read > 0 {
			m.opts.Logger.Info("bounce mailbox pass", "mailbox", m.safeURL(), "read", res.Read, "recorded", res.Recorded,
				"duplicates", res.Duplicates, "suppressed", res.Suppressed, "auto_replies", res.AutoReplies, "other", res.Other)
		}
		if done != nil {
			done(res, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// dial connects and logs in.
func (m *Mailbox) dial(ctx context.Context) (*client.Client, error) {
	cfg := m.opts.TLS
	if cfg == nil {
		host, _, _ := net.SplitHostPort(m.addr)
		cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	d := &net.Dialer{Timeout: m.opts.Timeout}
	var c *client.Client
	var err error
	if m.implicitTLS {
		c, err = client.DialWithDialerTLS(d, m.addr, cfg)
	} else {
		c, err = client.DialWithDialer(d, m.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", m.safeURL(), err)
	}
	c.Timeout = m.opts.Timeout
	context.AfterFunc(ctx, func() { _ = c.Terminate() })
	if !m.implicitTLS {
		if ok, _ := c.SupportStartTLS(); ok {
			if err := c.StartTLS(cfg); err != nil {
				_ = c.Terminate()
				return nil, fmt.Errorf("STARTTLS with %s: %w", m.safeURL(), err)
			}
		} else if !loopback(m.addr) {
			_ = c.Terminate()
			return nil, fmt.Errorf("%s offers no STARTTLS: the password would cross the network in clear; use imaps://", m.safeURL())
		}
	}
	if err := c.Login(m.user, m.password); err != nil {
		_ = c.Terminate()
		return nil, fmt.Errorf("log in to %s as %s: %w", m.safeURL(), m.user, err)
	}
	return c, nil
}

func loopback(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// record turns one parsed message into reports and records them; a store
// error leaves the message in place for the next pass.
func (m *Mailbox) record(ctx context.Context, msg *bounce.Message, res *PassResult) error {
	for _, r := range msg.Reports {
		var typ store.FeedbackType
		switch r.Kind {
		case bounce.Hard:
			typ = store.FeedbackHardBounce
		case bounce.Soft:
			typ = store.FeedbackSoftBounce
		case bounce.Complaint:
			typ = store.FeedbackComplaint
		case bounce.Delivered:
			typ = store.FeedbackDelivered
		default:
			res.Delays++
			continue
		}
		f := store.Feedback{Provider: ProviderIMAP, EventID: msg.ID + "/" + strings.ToLower(r.Recipient), Type: typ,
			Channel: channels.Email, Address: r.Recipient, Diagnostic: r.Diagnostic, OccurredAt: msg.Date}
		matchDelivery(&f, m.opts.VERP, msg.OriginalMessageID, msg.Addresses...)
		out, err := m.opts.Store.RecordFeedback(ctx, f)
		if err != nil {
			return err
		}
		if out.Duplicate {
			res.Duplicates++
			continue
		}
		res.Recorded++
		if out.Suppressed {
			res.Suppressed++
		}
		if out.Paused != "" {
			m.opts.Logger.Warn("campaign paused by the safety", "campaign", out.CampaignID, "reason", out.Paused)
		}
	}
	return nil
}

// seqSet is a set of UIDs.
func seqSet(uids []uint32) *imap.SeqSet {
	s := new(imap.SeqSet)
	s.AddNum(uids...)
	return s
}
