package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/email/doctor"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/web/unsubscribe"
	"github.com/tidings-crm/tidings/worker"
)

func (a *app) doctorCommand() *cobra.Command {
	root := &cobra.Command{Use: "doctor", Short: "Check the setup as the outside world sees it"}
	var campaign, dnsServer string
	cmd := &cobra.Command{
		Use:   "email",
		Short: "Check SPF, DKIM and DMARC of the From domain, one-click unsubscribe and TLS to the relay",
		Long: `doctor email checks what Gmail, Yahoo and other mailbox providers check of a
bulk sender: the SPF, DKIM (TIDINGS_DKIM_SELECTOR's record) and DMARC records
of TIDINGS_SMTP_FROM's domain, the List-Unsubscribe and List-Unsubscribe-Post
headers of a rendered campaign message, and STARTTLS (or TLS) to the relay of
TIDINGS_SMTP_URL. Each line passes or fails with how to fix it; the exit code
is 1 when one fails (docs/deliverability.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.doctorEmail(cmd.Context(), campaign, dnsServer)
		},
	}
	cmd.Flags().StringVar(&campaign, "campaign", "", "the campaign whose message is checked (default: the first email campaign)")
	cmd.Flags().StringVar(&dnsServer, "dns", "", "ask this DNS server (host:port) instead of the system's, e.g. the domain's own before a change has spread")
	root.AddCommand(cmd, a.doctorDatabaseCommand())
	return root
}

// errChecksFailed makes the exit code 1 once the report is printed.
var errChecksFailed = errors.New("doctor: some checks failed (see the fixes above)")

func (a *app) doctorEmail(ctx context.Context, campaignID, dnsServer string) error {
	from, err := mail.ParseAddress(a.cfg.SMTPFrom)
	if err != nil {
		return fmt.Errorf("TIDINGS_SMTP_FROM %q: %w", a.cfg.SMTPFrom, err)
	}
	f := a.cfg.Feedback
	o := doctor.Options{Domain: domainOf(from.Address), Timeout: 10 * time.Second}
	if dnsServer != "" {
		o.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, dnsServer)
		}}
	}
	if f.dkim != nil {
		o.DKIMSelector, o.DKIMKey = f.dkim.Selector, f.dkim.Key
		if f.dkim.Domain != "" {
			o.Domain = f.dkim.Domain
		}
	}
	if f.ReturnPath != "" {
		if rp, err := mail.ParseAddress(f.ReturnPath); err == nil {
			o.ReturnPathDomain = domainOf(rp.Address)
		}
	}
	var extra []doctor.Check
	if a.cfg.SMTPURL == "" {
		extra = append(extra, doctor.Check{Name: "TLS to the relay", Detail: "no TIDINGS_SMTP_URL: mail goes to the outbox",
			Fix: "set TIDINGS_SMTP_URL to the relay (smtp://user:password@relay:587?tls=required)"})
	} else if cfg, err := email.ParseURL(a.cfg.SMTPURL); err != nil {
		return fmt.Errorf("TIDINGS_SMTP_URL: %w", err)
	} else {
		o.Relay, o.TLSMode = net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), cfg.TLS
	}
	msg, name, err := a.doctorMessage(campaignID, from)
	if err != nil {
		return err
	}
	o.Message = msg
	checks := append(doctor.Run(ctx, o), extra...)
	fmt.Fprintf(a.stdout, "email sending for %s (campaign message: %s)\n", o.Domain, name)
	failed := false
	for _, c := range checks {
		mark := "PASS"
		if !c.OK {
			mark, failed = "FAIL", true
		}
		fmt.Fprintf(a.stdout, "%s  %s: %s\n", mark, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(a.stdout, "      fix: %s\n", c.Fix)
		}
	}
	if failed {
		return errChecksFailed
	}
	return nil
}

func domainOf(address string) string { return address[strings.LastIndexByte(address, '@')+1:] }

// doctorMessage composes the message of campaignID (or of the first email
// campaign) as a send would, for a made-up customer, and names it.
func (a *app) doctorMessage(campaignID string, from *mail.Address) ([]byte, string, error) {
	list, problems, err := a.loadCampaigns(a.cfg.CampaignsDir)
	if err != nil {
		return nil, "", err
	}
	a.warnBrokenFiles(problems)
	var c *campaigns.Campaign
	for _, cand := range list {
		if (campaignID == "" && cand.Journey == nil && slices.Contains(cand.Channels, channels.Email)) || cand.ID == campaignID {
			c = cand
			break
		}
	}
	if c == nil && campaignID != "" {
		if _, err := a.campaign(campaignID); err != nil {
			return nil, "", err
		}
	}
	signer := unsubscribe.Signer{Key: []byte(a.cfg.SigningKey + "doctor")}
	m := &channels.Message{DeliveryID: 1, To: "customer@example.com", Subject: "Tidings doctor", Text: "A check."}
	d := &store.Delivery{ID: 1, CustomerID: 1, Channel: channels.Email}
	name := "none found, a plain one"
	if c != nil {
		d.CampaignID, m.Campaign, name = c.ID, c.ID, c.ID
		cust := &store.Customer{ID: 1, ExternalID: "doctor", Email: m.To}
		env := rules.NewEnv(a.cfg.Location())
		env.Now = time.Now()
		worker.FillEnv(env, cust)
		variant := worker.AssignVariant(c, cust.ID)
		links := campaigns.Links{Unsubscribe: unsubscribeURL(signer, a.cfg.PublicURL)(d), Preferences: preferencesURL(signer, a.cfg.PublicURL)(d)}
		r, err := campaigns.Render(c, channels.Email, "", variant, c.DataWith(env, variant, links))
		if err != nil {
			return nil, "", fmt.Errorf("doctor: render %s: %w", c.ID, err)
		}
		m.Subject, m.Text, m.HTML, m.FromName = r.Subject, r.Text, r.HTML, r.FromName
	}
	m.UnsubscribeURL = unsubscribeURL(signer, a.cfg.PublicURL)(d)
	composed, err := email.Compose(m, email.Identity{From: from.Address, FromName: from.Name, MessageIDDomain: domainOf(from.Address)}, time.Now())
	if err != nil {
		return nil, "", err
	}
	var buf strings.Builder
	if _, err := composed.WriteTo(&buf); err != nil {
		return nil, "", err
	}
	return []byte(buf.String()), name, nil
}
