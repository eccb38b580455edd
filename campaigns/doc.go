// Package campaigns holds the campaign file format: strict YAML parsing with
// exact file:line:col problems, validation, folder loading, and message
// template rendering. A marketer writes one campaign per *.yaml file; the
// scheduler and workers only ever see a validated, compiled *Campaign.
//
// # File format
//
// Top-level keys (unknown keys are errors, with a "did you mean"):
//
//	id                  required; a slug (a-z, 0-9, '-', '_'), unique in the folder. It is part of
//	                    every delivery key, so renaming it resets "once per ..." history.
//	name                required; a human title.
//	description         optional free text.
//	status              active (default) | paused. Paused campaigns validate but never fire.
//	trigger             required; exactly one of:
//	  schedule:   {cron: "0 10 * * MON", time_zone: Europe/Paris}
//	              five-field cron or a descriptor (@daily, @weekly; not @every); time_zone is an
//	              IANA name (default UTC). Matched on that zone's wall clock; DST gaps and
//	              overlaps resolve by WallTime's rule, and a firing is keyed by its wall time.
//	  birthday:   {at: "09:00"}  the customer's birthday at that local time in their own zone.
//	  inactivity: {days: 90, gap_multiplier: 2.5, at: "10:00"}  days since the last purchase
//	              >= days and, when gap_multiplier is set, >= gap_multiplier x the customer's
//	              own average gap between purchases (customers with fewer than two orders are
//	              judged on days alone; those who never bought never match).
//	  churn_risk: {rule: "p_alive < 0.3", at: "10:00"}  daily, for customers matching the rule
//	              (an expression, checked like audience).
//	  event:      {type: purchase, delay: 2h}  after a webhook event, delayed by delay.
//	              `at` defaults to 10:00 (DefaultAt).
//	audience            required; an expr rule over rules.Env (plain, quoted or a | / > block);
//	                    "true" selects everyone. Compiled and type-checked at load.
//	channels            required; ordered list of email, sms, webhook: the first channel the
//	                    customer can receive (consent, address, not suppressed) is used.
//	                    webhook (team alerts only) posts to messages.webhook.url.
//	recipient           customer (default) | {team: {email: ..., sms: "+..."}} | team: the
//	                    message is about the customer but goes to the team (alerts). The team
//	                    needs an address for each listed channel but webhook.
//	messages            required; per channel:
//	  email: {subject, text, html, from_name}  subject and text or html required.
//	  sms:   {text}
//	  webhook: {url, text}  url writes out its scheme and host, which must be one of
//	         Settings.WebhookHosts (TIDINGS_WEBHOOK_HOSTS); templates fill only its path and query.
//	  each with locales: {fr: {...}, fr-CA: {...}} overriding fields. A customer's locale
//	  selects fr-CA, then fr, then the default fields.
//	offer               map of strings, available to templates as .offer.<key>.
//	holdout             share kept as a control group: "10%" or 0.1, 0 <= h < 1.
//	variants            list of {id, weight (> 0, default 1), messages (partial overrides)}.
//	frequency           {class: promotional (default) | transactional | alert, priority: int}.
//	                    Only promotional messages count against frequency caps; higher
//	                    priority wins a contended slot.
//	occurrence          once per year | once per N days | once ever | every run (snake forms
//	                    such as once_per_year and once_per_30_days too). Defaults: once per
//	                    year for birthday, every run for schedule and event; required for
//	                    inactivity and churn_risk, which fire daily.
//	exit_on             list of events ending participation; currently purchase. A journey's
//	                    entries may filter: {event: purchase, where: "event.amount >= 20"}.
//	steps               instead of messages (and channels, offer, variants, recipient): a
//	                    journey, a list of steps {id, next, and one of send, wait, wait_for,
//	                    branch, split, update, exit}; see Journey and docs/journeys.md.
//	attribution_window  duration (default 7d) for counting conversions.
//	resend_unknown      bool (default false): resend a delivery whose outcome is unknown.
//	tracking            {opens: bool, clicks: bool} (both false by default): an open pixel
//	                    and signed click redirects in the email's html part (Tracking).
//
// Durations accept Go syntax plus days: 30m, 2h, 7d, 1d12h.
//
// # Templates
//
// Subject, text, from_name and SMS use text/template; html uses html/template
// (contextual escaping). Data has the rule names (.first_name, .rfm.segment,
// .event.items, .attributes.<any>) plus .offer.<key>, .campaign.id,
// .campaign.name, .variant, .unsubscribe_url and .preferences_url. Every field chain is checked at
// load: {{ .frist_name }} is an error at its line and column. Functions:
// default, title, upper, lower, trim, date (long, full, short, iso or a Go
// layout, per locale) and money (amount, currency code, per locale).
//
// Message precedence for a (variant, locale): the variant's locale, the
// campaign's locale, the variant's default, the campaign's default.
//
// The reference for marketers is docs/campaigns.md.
package campaigns
