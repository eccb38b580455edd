package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/web/feedback"
)

// FeedbackConfig is what bounces and complaints do (docs/deliverability.md):
// when repeated soft bounces suppress an address, and when a campaign's
// complaint or hard-bounce rate pauses it.
type FeedbackConfig struct {
	SoftBounceLimit  int
	SoftBounceWindow string // 7d, 72h
	ComplaintRate    string // 0.1%, or 0.001
	HardBounceRate   string // 5%, or 0.05
	MinSample        int    // sent messages before a rate can pause

	// The receivers' credentials (docs/deliverability.md#receivers).
	ReturnPath   string // bounces@bounce.shop.example: VERP return path of each email
	SESFeedback  string // "true" serves /v1/feedback/ses
	SESTopics    string // space-separated SNS topic ARNs accepted; empty: any
	SendGridKey  string // Event Webhook verification key (base64)
	PostmarkAuth string // user:password of the webhook URL's basic auth
	MailgunKey   string // HTTP webhook signing key

	// The bounce mailbox (docs/deliverability.md#the-bounce-mailbox).
	BounceIMAPURL     string // imaps://user:password@host:993/INBOX
	BounceInterval    string // how often it is read (5m)
	BounceProcessed   string // folder processed mail goes to, or "delete"
	BounceAutoReplies string // folder auto-replies go to; empty leaves them

	bounceEvery time.Duration

	// DKIM signing (docs/deliverability.md#dkim).
	DKIMKeyFile  string // PEM private key, RSA or Ed25519
	DKIMSelector string // the key's selector: <selector>._domainkey.<domain>
	DKIMDomain   string // d=; empty: the domain of TIDINGS_SMTP_FROM

	dkim *email.DKIM

	verp *email.VERP
	ses  bool
}

func (f *FeedbackConfig) settings() []setting {
	def := store.DefaultFeedbackPolicy()
	return []setting{
		{flag: "soft-bounce-limit", env: "TIDINGS_SOFT_BOUNCE_LIMIT", yaml: "soft_bounce_limit", def: strconv.Itoa(def.SoftBounceLimit),
			help: "soft bounces (or undelivered SMS) of one address within TIDINGS_SOFT_BOUNCE_WINDOW that suppress it", num: &f.SoftBounceLimit},
		{flag: "soft-bounce-window", env: "TIDINGS_SOFT_BOUNCE_WINDOW", yaml: "soft_bounce_window", def: "7d",
			help: "the window TIDINGS_SOFT_BOUNCE_LIMIT counts soft bounces in (7d, 72h)", str: &f.SoftBounceWindow},
		{flag: "pause-complaint-rate", env: "TIDINGS_PAUSE_COMPLAINT_RATE", yaml: "pause_complaint_rate", def: "0.1%",
			help: "a campaign whose complaints pass this share of its sent messages pauses itself (0.1% or 0.001)", str: &f.ComplaintRate},
		{flag: "pause-hard-bounce-rate", env: "TIDINGS_PAUSE_HARD_BOUNCE_RATE", yaml: "pause_hard_bounce_rate", def: "5%",
			help: "a campaign whose hard bounces pass this share of its sent messages pauses itself (5% or 0.05)", str: &f.HardBounceRate},
		{flag: "pause-min-sample", env: "TIDINGS_PAUSE_MIN_SAMPLE", yaml: "pause_min_sample", def: strconv.Itoa(def.MinSample),
			help: "sent messages a campaign needs before its complaint or bounce rate can pause it", num: &f.MinSample},
		{flag: "return-path", env: "TIDINGS_RETURN_PATH", yaml: "return_path", def: "",
			help: "bounce address (bounces@bounce.shop.example); each email's envelope sender becomes bounces+<delivery>-<signature>@... so bounces match their message; needs TIDINGS_SIGNING_KEY", str: &f.ReturnPath},
		{flag: "ses-feedback", env: "TIDINGS_SES_FEEDBACK", yaml: "ses_feedback", def: "false",
			help: "true serves /v1/feedback/ses for Amazon SES bounce and complaint notifications through SNS (signatures checked)", str: &f.SESFeedback},
		{flag: "ses-topics", env: "TIDINGS_SES_TOPICS", yaml: "ses_topics", def: "",
			help: "space-separated SNS topic ARNs /v1/feedback/ses accepts; empty: any topic whose messages SNS signed", str: &f.SESTopics},
		{flag: "sendgrid-webhook-key", env: "TIDINGS_SENDGRID_WEBHOOK_KEY", yaml: "sendgrid_webhook_key", def: "",
			help: "SendGrid Event Webhook verification key (base64, from its signed-webhook settings); serves /v1/feedback/sendgrid", str: &f.SendGridKey, secret: true},
		{flag: "postmark-webhook-auth", env: "TIDINGS_POSTMARK_WEBHOOK_AUTH", yaml: "postmark_webhook_auth", def: "",
			help: "user:password of the basic auth in the webhook URL given to Postmark; serves /v1/feedback/postmark", str: &f.PostmarkAuth, secret: true},
		{flag: "mailgun-signing-key", env: "TIDINGS_MAILGUN_SIGNING_KEY", yaml: "mailgun_signing_key", def: "",
			help: "Mailgun HTTP webhook signing key; serves /v1/feedback/mailgun", str: &f.MailgunKey, secret: true},
		{flag: "bounce-imap-url", env: "TIDINGS_BOUNCE_IMAP_URL", yaml: "bounce_imap_url", def: "",
			help: "bounce mailbox the scheduler reads for DSNs and ARF complaints: imaps://user:password@host:993/INBOX (imap:// needs STARTTLS)", str: &f.BounceIMAPURL, secret: true},
		{flag: "bounce-interval", env: "TIDINGS_BOUNCE_INTERVAL", yaml: "bounce_interval", def: "5m",
			help: "how often the bounce mailbox is read (at least 10s)", str: &f.BounceInterval},
		{flag: "bounce-processed", env: "TIDINGS_BOUNCE_PROCESSED", yaml: "bounce_processed", def: "Processed",
			help: "folder processed bounces and complaints are moved to (created when missing), or delete", str: &f.BounceProcessed},
		{flag: "bounce-auto-replies", env: "TIDINGS_BOUNCE_AUTO_REPLIES", yaml: "bounce_auto_replies", def: "",
			help: "folder auto-replies (out of office) are moved to; empty leaves them in the mailbox", str: &f.BounceAutoReplies},
		{flag: "dkim-key-file", env: "TIDINGS_DKIM_KEY_FILE", yaml: "dkim_key_file", def: "",
			help: "PEM private key (RSA 2048+ or Ed25519) every email is DKIM-signed with; needs TIDINGS_DKIM_SELECTOR", str: &f.DKIMKeyFile},
		{flag: "dkim-selector", env: "TIDINGS_DKIM_SELECTOR", yaml: "dkim_selector", def: "",
			help: "DKIM selector: the public key is published as the TXT record <selector>._domainkey.<domain>", str: &f.DKIMSelector},
		{flag: "dkim-domain", env: "TIDINGS_DKIM_DOMAIN", yaml: "dkim_domain", def: "",
			help: "DKIM signing domain (d=); empty: the domain of TIDINGS_SMTP_FROM", str: &f.DKIMDomain},
	}
}

// validate reads the settings into a policy, reporting each bad one to bad.
func (f *FeedbackConfig) validate(bad func(env, format string, args ...any)) store.FeedbackPolicy {
	p := store.DefaultFeedbackPolicy()
	p.SoftBounceLimit, p.MinSample = f.SoftBounceLimit, f.MinSample
	if d, err := campaigns.ParseDuration(f.SoftBounceWindow); err != nil || d < time.Hour {
		bad("TIDINGS_SOFT_BOUNCE_WINDOW", "must be a duration of at least 1h such as 7d or 72h, got %q", f.SoftBounceWindow)
	} else {
		p.SoftBounceWindow = d
	}
	for _, r := range []struct {
		env, val string
		to       *float64
	}{{"TIDINGS_PAUSE_COMPLAINT_RATE", f.ComplaintRate, &p.ComplaintRate}, {"TIDINGS_PAUSE_HARD_BOUNCE_RATE", f.HardBounceRate, &p.HardBounceRate}} {
		v, err := parseRate(r.val)
		if err != nil {
			bad(r.env, "must be a share between 0 and 1, written 0.1%% or 0.001, got %q", r.val)
			continue
		}
		*r.to = v
	}
	if on, err := strconv.ParseBool(f.SESFeedback); err != nil {
		bad("TIDINGS_SES_FEEDBACK", "must be true or false, got %q", f.SESFeedback)
	} else {
		f.ses = on
	}
	if f.BounceIMAPURL != "" {
		if err := feedback.CheckMailboxURL(f.BounceIMAPURL); err != nil {
			bad("TIDINGS_BOUNCE_IMAP_URL", "%v", err)
		}
		if d, err := campaigns.ParseDuration(f.BounceInterval); err != nil || d < 10*time.Second {
			bad("TIDINGS_BOUNCE_INTERVAL", "must be a duration of at least 10s such as 5m, got %q", f.BounceInterval)
		} else {
			f.bounceEvery = d
		}
		if strings.TrimSpace(f.BounceProcessed) == "" {
			bad("TIDINGS_BOUNCE_PROCESSED", "must name a folder, or be delete")
		}
	}
	if f.PostmarkAuth != "" {
		if u, pw, ok := strings.Cut(f.PostmarkAuth, ":"); !ok || u == "" || len(pw) < 16 {
			bad("TIDINGS_POSTMARK_WEBHOOK_AUTH", "must be user:password with a password of at least 16 random characters")
		}
	}
	return p
}

// loadDKIM reads the DKIM key and selector (both or neither).
func (f *FeedbackConfig) loadDKIM(bad func(env, format string, args ...any)) {
	switch {
	case f.DKIMKeyFile == "" && f.DKIMSelector == "":
		return
	case f.DKIMKeyFile == "":
		bad("TIDINGS_DKIM_KEY_FILE", "must name the PEM private key the selector %q publishes", f.DKIMSelector)
		return
	case f.DKIMSelector == "":
		bad("TIDINGS_DKIM_SELECTOR", "must name the key's selector (the TXT record <selector>._domainkey.<domain>)")
		return
	}
	key, err := email.LoadDKIMKey(f.DKIMKeyFile)
	if err != nil {
		bad("TIDINGS_DKIM_KEY_FILE", "%v", err)
		return
	}
	f.dkim = &email.DKIM{Domain: f.DKIMDomain, Selector: f.DKIMSelector, Key: key}
}

// returnPath reads TIDINGS_RETURN_PATH into the VERP scheme signed with the
// signing key (which must be set: a random per-process key would make the
// bounces of every earlier message unmatched).
func (f *FeedbackConfig) returnPath(signingKey string, bad func(env, format string, args ...any)) {
	if f.ReturnPath == "" {
		return
	}
	if signingKey == "" {
		bad("TIDINGS_RETURN_PATH", "needs TIDINGS_SIGNING_KEY, which signs the return paths (a per-process key would leave earlier messages' bounces unmatched)")
		return
	}
	v, err := email.NewVERP(f.ReturnPath, []byte(signingKey))
	if err != nil {
		bad("TIDINGS_RETURN_PATH", "%v; write an address such as bounces@bounce.shop.example", err)
		return
	}
	f.verp = v
}

// parseRate reads "0.1%" as 0.001 and "0.05" as 0.05: a share strictly
// between 0 and 1.
func parseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, err
	}
	if pct {
		v /= 100
	}
	if v <= 0 || v >= 1 {
		return 0, strconv.ErrRange
	}
	return v, nil
}
