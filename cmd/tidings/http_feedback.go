package main

import (
	"strings"

	"github.com/tidings-crm/tidings/web/feedback"
	"github.com/tidings-crm/tidings/web/openapi"
)

// mountFeedback serves the receivers of bounces, complaints and delivery
// receipts whose credentials are configured (docs/deliverability.md).
func (a *app) mountFeedback(mux *openapi.Mux, rt *runtime) error {
	f := a.cfg.Feedback
	opts := feedback.Options{Store: rt.st, Logger: a.log, PublicURL: a.cfg.PublicURL, VERP: f.verp,
		SES:         feedback.SESOptions{Enabled: f.ses, TopicARNs: strings.Fields(f.SESTopics)},
		SendGridKey: f.SendGridKey, MailgunKey: f.MailgunKey}
	opts.PostmarkUser, opts.PostmarkPassword, _ = strings.Cut(f.PostmarkAuth, ":")
	switch a.cfg.SMSProvider {
	case "twilio":
		opts.TwilioAuthToken = a.cfg.SMSToken
	case "http":
		opts.SMSSecret = a.cfg.SMSInbound
	}
	h, routes, err := feedback.Handler(opts)
	if err != nil {
		return err
	}
	for _, r := range routes {
		mux.Handle("POST "+r, h)
	}
	return nil
}

// bounceMailbox is the reader of TIDINGS_BOUNCE_IMAP_URL, run by the
// scheduler role (several schedulers may read one mailbox: reports are
// recorded once).
func (a *app) bounceMailbox(rt *runtime) (*feedback.Mailbox, error) {
	f := a.cfg.Feedback
	return feedback.NewMailbox(feedback.MailboxOptions{URL: f.BounceIMAPURL, Processed: f.BounceProcessed,
		AutoReplies: f.BounceAutoReplies, Store: rt.st, VERP: f.verp, Logger: a.log})
}

// twilioStatusCallback is the URL Twilio posts each message's status to:
// only a public https URL (Twilio cannot reach a development address).
func (a *app) twilioStatusCallback() string {
	if !strings.HasPrefix(a.cfg.PublicURL, "https://") {
		return ""
	}
	return strings.TrimRight(a.cfg.PublicURL, "/") + feedback.PathTwilio
}
