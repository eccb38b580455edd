package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/worker"
	"github.com/tidings-crm/tidings/worker/redisconn"
)

// Config is every setting Tidings reads, in one place. Values come from, in
// order of precedence: command-line flags, TIDINGS_* environment variables, an
// optional YAML file (--config or TIDINGS_CONFIG), then the defaults below.
type Config struct {
	DatabaseURL   string // postgres://... or sqlite:path
	DatabaseRead  string // a PostgreSQL read replica for audience streams and reports; empty: none
	RedisURL      string // redis://host:port/db; "embedded" runs an in-process server
	RedisEviction string // "true" starts on a Redis whose maxmemory-policy may evict tasks
	CampaignsDir  string
	Policy        string // the contact policy file; empty: the built-in default
	TimeZone      string // default IANA zone for customers without one
	SMTPURL       string // smtp://user:pass@host:port?tls=starttls; empty = outbox
	SMTPFrom      string
	SMTPPool      int
	SMSProvider   string // none | twilio | http
	SMSURL        string
	SMSAccount    string
	SMSToken      string
	SMSFrom       string
	SMSInbound    string // whsec_ secret(s) the generic provider signs inbound SMS with
	WebhookSecret string // whsec_<base64>; several separated by spaces for rotation
	HTTPAddr      string
	PublicURL     string // base URL for links in messages (unsubscribe)
	AdminToken    string
	SigningKey    string // HMAC key for unsubscribe links
	HashKey       string // HMAC key of hashed suppressions; empty: kept in the database
	InboxRetain   string // how long webhook payloads are kept: 30d, 720h, or 0 (for ever)
	SegmentMap    string // optional YAML file overriding the RFM segment map
	Tiers         string // optional YAML file of loyalty tiers (insights.ParseTiers)
	ValueFloor    string // value_trend's baseline floor in currency units; empty: the base's median order value
	ValueBelow    string // value_trend under which a customer still buying is value_churn
	ChurnModel    string // the count model behind p_alive, expected purchases and CLV
	CLVMargin     string // the share of revenue CLV counts (1: revenue)
	CLVMonths     int    // CLV's horizon in months
	CLVDiscount   string // CLV's monthly discount rate
	Calibration   int    // the forecast check's holdout in weeks (TIDINGS_CALIBRATION_HOLDOUT_WEEKS); 0: none
	Topics        string // the topics customers may leave: "newsletter=Weekly newsletter, offers"
	GlobalHold    string // the share of customers who get no promotional campaign: "5%"
	DoubleOptIn   string // the confirmation campaign of email sign-ups by API; empty: none
	GlobalSalt    string // draws the global holdout's customers
	LogFormat     string // text or json
	OutboxDir     string
	Concurrency   int    // worker goroutines
	EmailRate     int    // emails per second per process
	SMSRate       int    // SMS per second per process
	ClaimLease    string // how long a claimed send may stay unfinished before it is settled as unknown
	EventKeep     string // how long the events log keeps an event (TIDINGS_EVENT_RETENTION)
	LedgerKeep    string // how long the ledger keeps an occurrence (TIDINGS_LEDGER_RETENTION)
	SimClock      string // drills only: the scheduler's simulated clock (worker.ParseSimClock)
	Migrate       string // "true": serve, worker and scheduler apply pending migrations at start
	DBPool        string // database connections per process; empty: the store's default
	RedisPool     string // Redis connections per process; empty: go-redis's default
	Webhooks      string // the outgoing webhooks' subscribers file (TIDINGS_WEBHOOKS)
	HookAttempts  int    // the outgoing webhooks' retry budget (TIDINGS_WEBHOOK_ATTEMPTS)
	TrackWindow   string // a tracked click sooner than this after the send is a machine's
	TrustProxies  string // CIDRs of the reverse proxies whose X-Forwarded-For is believed

	Feedback FeedbackConfig // bounces, complaints and receipts (config_feedback.go)
	// WebhookChannel is the webhook channel's hosts and secret (config_webhookchannel.go).
	WebhookChannel WebhookChannelConfig

	location      *time.Location
	claimLease    time.Duration
	eventKeep     time.Duration
	ledgerKeep    time.Duration
	inboxRetain   time.Duration
	topics        []campaigns.Topic
	globalHold    float64
	allowEviction bool
	migrate       bool
	dbPool        int // 0: the store's default
	redisPool     int // 0: go-redis's default
	feedback      store.FeedbackPolicy
	hookSubs      []worker.HookSubscriber
	trackWindow   time.Duration
	trustProxies  []netip.Prefix
}

// setting describes one configuration key: its flag, environment variable, YAML
// key, default and help, and where it is stored.
type setting struct {
	flag, env, yaml, def, help string
	str                        *string
	num                        *int
	secret                     bool
	boolean                    bool // the bare flag (--migrate) means true
}

func (c *Config) settings() []setting {
	out := []setting{
		{flag: "database-url", env: "TIDINGS_DATABASE_URL", yaml: "database_url", def: "sqlite:tidings-data/tidings.db",
			help: "database: postgres://user@host:5432/db or sqlite:path/to/file.db", str: &c.DatabaseURL},
		{flag: "database-read-url", env: "TIDINGS_DATABASE_READ_URL", yaml: "database_read_url", def: "",
			help: "a PostgreSQL read replica (hot standby) that audience streams and reports read from; empty: the primary", str: &c.DatabaseRead},
		{flag: "db-pool", env: "TIDINGS_DB_POOL", yaml: "db_pool", def: "",
			help: "database connections kept per process, open and idle; empty: 16 on PostgreSQL, 4 on SQLite", str: &c.DBPool},
		{flag: "redis-url", env: "TIDINGS_REDIS_URL", yaml: "redis_url", def: "redis://127.0.0.1:6379/0",
			help: "Redis for the job queue (run it with maxmemory-policy noeviction); \"embedded\" runs one in-process", str: &c.RedisURL},
		{flag: "redis-allow-eviction", env: "TIDINGS_REDIS_ALLOW_EVICTION", yaml: "redis_allow_eviction", def: "false",
			help: "true starts even when Redis's maxmemory-policy is not noeviction (evicted keys delay or lose queued tasks)", str: &c.RedisEviction},
		{flag: "redis-pool", env: "TIDINGS_REDIS_POOL", yaml: "redis_pool", def: "",
			help: "Redis connections kept per process; empty: go-redis's default, 10 per CPU", str: &c.RedisPool},
		{flag: "campaigns", env: "TIDINGS_CAMPAIGNS", yaml: "campaigns", def: "examples/campaigns",
			help: "folder of campaign YAML files", str: &c.CampaignsDir},
		{flag: "policy", env: "TIDINGS_POLICY", yaml: "policy", def: "",
			help: "contact policy file: frequency caps, quiet hours and blackout dates per channel, class, country and US state (docs/policy.md); empty: the built-in default, examples/policy.yaml", str: &c.Policy},
		{flag: "time-zone", env: "TIDINGS_TIME_ZONE", yaml: "time_zone", def: "UTC",
			help: "IANA time zone for customers who have none and whose phone number gives none", str: &c.TimeZone},
		{flag: "smtp-url", env: "TIDINGS_SMTP_URL", yaml: "smtp_url", def: "",
			help: "SMTP relay: smtp://user:pass@host:587?tls=starttls or smtps://...; empty writes to the outbox", str: &c.SMTPURL, secret: true},
		{flag: "smtp-from", env: "TIDINGS_SMTP_FROM", yaml: "smtp_from", def: "Tidings <hello@tidings.localhost>",
			help: "From address of emails; a campaign's from_name replaces its name, not its address", str: &c.SMTPFrom},
		{flag: "smtp-pool", env: "TIDINGS_SMTP_POOL", yaml: "smtp_pool", def: "4",
			help: "SMTP connections kept open per worker process (at most TIDINGS_CONCURRENCY: one per send in flight)", num: &c.SMTPPool},
		{flag: "sms-provider", env: "TIDINGS_SMS_PROVIDER", yaml: "sms_provider", def: "none",
			help: "SMS provider: none (outbox), twilio (Twilio-compatible REST) or http (generic JSON)", str: &c.SMSProvider},
		{flag: "sms-url", env: "TIDINGS_SMS_URL", yaml: "sms_url", def: "",
			help: "SMS provider base URL", str: &c.SMSURL},
		{flag: "sms-account", env: "TIDINGS_SMS_ACCOUNT", yaml: "sms_account", def: "",
			help: "SMS provider account id (Twilio: Account SID)", str: &c.SMSAccount},
		{flag: "sms-token", env: "TIDINGS_SMS_TOKEN", yaml: "sms_token", def: "",
			help: "SMS provider token (prefer the environment variable)", str: &c.SMSToken, secret: true},
		{flag: "sms-from", env: "TIDINGS_SMS_FROM", yaml: "sms_from", def: "",
			help: "SMS sender number or id", str: &c.SMSFrom},
		{flag: "sms-inbound-secret", env: "TIDINGS_SMS_INBOUND_SECRET", yaml: "sms_inbound_secret", def: "",
			help: "Standard Webhooks secret(s) whsec_<base64> the http provider (or a gateway, with none) signs inbound SMS with; without it (or, for twilio, TIDINGS_SMS_TOKEN) /v1/sms/inbound is not served", str: &c.SMSInbound, secret: true},
		{flag: "webhook-secret", env: "TIDINGS_WEBHOOK_SECRET", yaml: "webhook_secret", def: "",
			help: "Standard Webhooks secret(s) whsec_<base64>, space-separated during rotation", str: &c.WebhookSecret, secret: true},
		{flag: "http-addr", env: "TIDINGS_HTTP_ADDR", yaml: "http_addr", def: "127.0.0.1:8080",
			help: "address the HTTP server (webhook, unsubscribe, admin) listens on", str: &c.HTTPAddr},
		{flag: "public-url", env: "TIDINGS_PUBLIC_URL", yaml: "public_url", def: "http://127.0.0.1:8080",
			help: "public base URL used in links inside messages; https:// for one-click unsubscribe (RFC 8058)", str: &c.PublicURL},
		{flag: "admin-token", env: "TIDINGS_ADMIN_TOKEN", yaml: "admin_token", def: "",
			help: "bearer token for the admin API, dashboard and monitoring", str: &c.AdminToken, secret: true},
		{flag: "signing-key", env: "TIDINGS_SIGNING_KEY", yaml: "signing_key", def: "",
			help: "secret (32+ random characters) that signs unsubscribe links; keep it stable across restarts", str: &c.SigningKey, secret: true},
		{flag: "hash-key", env: "TIDINGS_HASH_KEY", yaml: "hash_key", def: "",
			help: "secret (32+ random characters) suppressed addresses are hashed with; empty: generated once and kept in the database (docs/privacy.md)", str: &c.HashKey, secret: true},
		{flag: "inbox-retention", env: "TIDINGS_INBOX_RETENTION", yaml: "inbox_retention", def: "30d",
			help: "how long webhook event payloads (which hold the customer's profile) are kept; the event id stays. Days (30d) or a duration (720h); 0 keeps them", str: &c.InboxRetain},
		{flag: "tracking-machine-window", env: "TIDINGS_TRACKING_MACHINE_WINDOW", yaml: "tracking_machine_window", def: "10s",
			help: "a tracked click sooner than this after the send is counted as a machine's (a link scanner), not a person's (docs/privacy.md)", str: &c.TrackWindow},
		{flag: "trusted-proxies", env: "TIDINGS_TRUSTED_PROXIES", yaml: "trusted_proxies", def: "",
			help: "space-separated CIDRs of the reverse proxies in front of Tidings; a request from one is taken to come from its X-Forwarded-For (the tracking endpoints read the client address)", str: &c.TrustProxies},
		{flag: "segment-map", env: "TIDINGS_SEGMENT_MAP", yaml: "segment_map", def: "",
			help: "YAML file mapping RFM score patterns to segment names (see insights.DefaultSegmentMapYAML); empty uses the default", str: &c.SegmentMap},
		{flag: "tiers", env: "TIDINGS_TIERS", yaml: "tiers", def: "",
			help: "YAML file of loyalty tiers: thresholds on spend or orders over a window, a grace period before a downgrade (docs/intelligence.md#loyalty-tiers); empty: no tiers", str: &c.Tiers},
		{flag: "value-floor", env: "TIDINGS_VALUE_FLOOR", yaml: "value_floor", def: "",
			help: "value churn: the smallest spend of the earlier 90 days that counts as a baseline, in currency units (docs/intelligence.md); empty: the base's median order value at each refresh", str: &c.ValueFloor},
		{flag: "value-churn-below", env: "TIDINGS_VALUE_CHURN_BELOW", yaml: "value_churn_below", def: "0.5",
			help: "value churn: a customer still buying whose value_trend (latest 90 days' spend over the 90 before) is below this is value_churn", str: &c.ValueBelow},
		{flag: "churn-model", env: "TIDINGS_CHURN_MODEL", yaml: "churn_model", def: "pareto_nbd",
			help: "the model behind p_alive, expected_purchases_90d and clv: pareto_nbd, bg_nbd (one-time buyers never lapse) or mbg_nbd (docs/intelligence.md)", str: &c.ChurnModel},
		{flag: "clv-margin", env: "TIDINGS_CLV_MARGIN", yaml: "clv_margin", def: "1",
			help: "the share of revenue clv counts, above 0 and at most 1 (e.g. 0.3 for a 30% gross margin); 1 is revenue", str: &c.CLVMargin},
		{flag: "clv-horizon-months", env: "TIDINGS_CLV_HORIZON_MONTHS", yaml: "clv_horizon_months", def: "12",
			help: "clv: the months of future purchases it sums (months of 4.345 weeks)", num: &c.CLVMonths},
		{flag: "clv-discount", env: "TIDINGS_CLV_DISCOUNT", yaml: "clv_discount", def: "0.01",
			help: "clv: the monthly discount rate, 0 or more (0.01 = 1% a month)", str: &c.CLVDiscount},
		{flag: "calibration-holdout-weeks", env: "TIDINGS_CALIBRATION_HOLDOUT_WEEKS", yaml: "calibration_holdout_weeks", def: "39",
			help: "the forecast check of the scheduled refresh and `insights refresh`: the churn model fitted on the history up to this many weeks ago, its forecast of them against what happened (the dashboard's Customers page); 0: no check", num: &c.Calibration},
		{flag: "topics", env: "TIDINGS_TOPICS", yaml: "topics", def: "",
			help: "the topics customers may leave on their preference page, comma-separated, each a slug with an optional label: newsletter=Weekly newsletter, offers=Offers (docs/privacy.md#topics)", str: &c.Topics},
		{flag: "double-opt-in", env: "TIDINGS_DOUBLE_OPT_IN", yaml: "double_opt_in", def: "",
			help: "the campaign id (trigger api, class transactional, email) that asks a customer to confirm an email consent granted through PUT /v1/customers; the consent starts at confirmation (docs/privacy.md#double-opt-in). Empty: consent starts at once", str: &c.DoubleOptIn},
		{flag: "global-holdout", env: "TIDINGS_GLOBAL_HOLDOUT", yaml: "global_holdout", def: "0",
			help: "the stable share of customers who receive no promotional campaign (e.g. 5%), to measure what marketing as a whole adds (tidings report --global-holdout)", str: &c.GlobalHold},
		{flag: "global-holdout-salt", env: "TIDINGS_GLOBAL_HOLDOUT_SALT", yaml: "global_holdout_salt", def: "global-holdout",
			help: "the salt hashed with each customer id to draw the global holdout; changing it draws another group", str: &c.GlobalSalt},
		{flag: "log-format", env: "TIDINGS_LOG_FORMAT", yaml: "log_format", def: "text",
			help: "log format on stderr: text or json (structured, one object per line)", str: &c.LogFormat},
		{flag: "outbox", env: "TIDINGS_OUTBOX", yaml: "outbox", def: "tidings-data/outbox",
			help: "folder for .eml files and the SMS log when no provider is configured", str: &c.OutboxDir},
		{flag: "concurrency", env: "TIDINGS_CONCURRENCY", yaml: "concurrency", def: "8",
			help: "worker goroutines per process", num: &c.Concurrency},
		{flag: "email-rate", env: "TIDINGS_EMAIL_RATE", yaml: "email_rate", def: "500",
			help: "emails per second per worker process (the relay's limit divided by the workers)", num: &c.EmailRate},
		{flag: "sms-rate", env: "TIDINGS_SMS_RATE", yaml: "sms_rate", def: "20",
			help: "SMS per second per worker process (the provider's limit divided by the workers)", num: &c.SMSRate},
		{flag: "claim-lease", env: "TIDINGS_CLAIM_LEASE", yaml: "claim_lease", def: "2m",
			help: "a send claimed longer ago than this (its worker died) is settled as unknown by the reconciler; keep it above the slowest send (SMTP commands time out after 30 s)", str: &c.ClaimLease},
		{flag: "event-retention", env: "TIDINGS_EVENT_RETENTION", yaml: "event_retention", def: "400d",
			help: "how long the events log keeps an event (e.g. 90d, 400d); older ones are deleted hourly and rules stop counting them", str: &c.EventKeep},
		{flag: "ledger-retention", env: "TIDINGS_LEDGER_RETENTION", yaml: "ledger_retention", def: "0",
			help: "how long the deliveries ledger keeps an occurrence after its last row (e.g. 400d; at least 30d); older ones are forgotten hourly (whole monthly partitions on PostgreSQL) and could be sent again; 0 keeps every row", str: &c.LedgerKeep},
		{flag: "simulated-clock", env: "TIDINGS_SIMULATED_CLOCK", yaml: "simulated_clock", def: "",
			help: "drills and tests only: the scheduler's clock as START,ANCHOR,SPEED (e.g. a day of cron ticks in minutes); workers keep the wall clock", str: &c.SimClock},
		{flag: "webhooks", env: "TIDINGS_WEBHOOKS", yaml: "webhooks", def: "",
			help: "YAML file of outgoing webhook subscribers (name, url, secret or secret_env, events; docs/operations.md#outgoing-webhooks); empty: none", str: &c.Webhooks},
		{flag: "webhook-attempts", env: "TIDINGS_WEBHOOK_ATTEMPTS", yaml: "webhook_attempts", def: "10",
			help: "posts of an outgoing webhook before it goes to the dead-letter list (backoff 5s doubling, at most 1h)", num: &c.HookAttempts},
		{flag: "migrate", env: "TIDINGS_MIGRATE", yaml: "migrate", def: "false",
			help: "serve, worker, scheduler: apply pending schema migrations at start; without it they refuse to start on a database that has some (run tidings migrate up)", str: &c.Migrate, boolean: true},
	}
	out = append(out, c.WebhookChannel.settings()...)
	return append(out, c.Feedback.settings()...)
}

// bindFlags registers every setting as a persistent flag.
func (c *Config) bindFlags(fs *pflag.FlagSet) *string {
	for _, s := range c.settings() {
		help := fmt.Sprintf("%s (env %s)", s.help, s.env)
		if s.def != "" {
			help = fmt.Sprintf("%s (env %s, default %s)", s.help, s.env, s.def)
		}
		fs.String(s.flag, "", help)
		if s.boolean {
			fs.Lookup(s.flag).NoOptDefVal = "true"
		}
	}
	return fs.String("config", "", "optional YAML file with the settings above (env TIDINGS_CONFIG)")
}

// load fills c from defaults, the optional file, the environment and the flags.
func (c *Config) load(fs *pflag.FlagSet, configFile string) error {
	if configFile == "" {
		configFile = os.Getenv("TIDINGS_CONFIG")
	}
	file := map[string]string{}
	if configFile != "" {
		var err error
		if file, err = readConfigFile(configFile, c.settings()); err != nil {
			return err
		}
	}
	for _, s := range c.settings() {
		val, from := s.def, "default"
		if v, ok := file[s.yaml]; ok {
			val, from = v, configFile
		}
		if v, ok := os.LookupEnv(s.env); ok {
			val, from = v, s.env
		}
		if f := fs.Lookup(s.flag); f != nil && f.Changed {
			val, from = f.Value.String(), "--"+s.flag
		}
		if s.num != nil {
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n < 1 {
				return fmt.Errorf("config: %s (from %s) must be a whole number of at least 1, got %q", s.env, from, val)
			}
			*s.num = n
			continue
		}
		*s.str = strings.TrimSpace(val)
	}
	return c.validate()
}

func readConfigFile(path string, settings []setting) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	raw := map[string]any{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.yaml] = true
	}
	out := map[string]string{}
	for k, v := range raw {
		if !known[k] {
			keys := make([]string, 0, len(known))
			for k := range known {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("config: %s: unknown key %q; known keys: %s", path, k, strings.Join(keys, ", "))
		}
		out[k] = fmt.Sprint(v)
	}
	return out, nil
}

// validate checks every setting and says which variable to fix and how.
func (c *Config) validate() error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: "+format, append([]any{env}, args...)...))
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") &&
		!strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		bad("TIDINGS_DATABASE_URL", "must start with postgres:// or sqlite: (e.g. sqlite:tidings-data/tidings.db), got %q", redactURL(c.DatabaseURL))
	}
	if c.DatabaseRead != "" {
		switch {
		case !strings.HasPrefix(c.DatabaseRead, "postgres://") && !strings.HasPrefix(c.DatabaseRead, "postgresql://"):
			bad("TIDINGS_DATABASE_READ_URL", "must start with postgres:// (a PostgreSQL hot standby of TIDINGS_DATABASE_URL), got %q", redactURL(c.DatabaseRead))
		case strings.HasPrefix(c.DatabaseURL, "sqlite:"):
			bad("TIDINGS_DATABASE_READ_URL", "a read replica needs a PostgreSQL primary; TIDINGS_DATABASE_URL is SQLite (unset TIDINGS_DATABASE_READ_URL)")
		}
	}
	if c.RedisURL != "embedded" {
		if _, err := redisconn.Parse(c.RedisURL); err != nil {
			bad("TIDINGS_REDIS_URL", "%v; write redis://host:6379/0, redis+cluster://host1:6379,host2:6379/ for a Redis Cluster, "+
				"or \"embedded\"", email.URLError(c.RedisURL, err))
		}
	}
	if allow, err := strconv.ParseBool(c.RedisEviction); err != nil {
		bad("TIDINGS_REDIS_ALLOW_EVICTION", "must be true or false, got %q", c.RedisEviction)
	} else {
		c.allowEviction = allow
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		bad("TIDINGS_TIME_ZONE", "unknown time zone %q; use an IANA name such as Europe/Paris or UTC", c.TimeZone)
	}
	c.location = loc
	if c.SMTPURL != "" {
		if _, err := email.ParseURL(c.SMTPURL); err != nil {
			bad("TIDINGS_SMTP_URL", "%v; it must look like smtp://user:pass@host:587?tls=starttls or smtps://host:465", err)
		}
	}
	if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
		bad("TIDINGS_SMTP_FROM", "%v; write an address such as \"Shop <hello@shop.example>\"", err)
	}
	if c.HashKey != "" && len(c.HashKey) < 32 {
		bad("TIDINGS_HASH_KEY", "is %d characters; use at least 32 random characters (e.g. openssl rand -hex 32)", len(c.HashKey))
	}
	if c.SigningKey != "" && len(c.SigningKey) < 32 {
		bad("TIDINGS_SIGNING_KEY", "is %d characters; use at least 32 random characters (e.g. openssl rand -hex 32)", len(c.SigningKey))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("TIDINGS_LOG_FORMAT", "must be text or json, got %q", c.LogFormat)
	}
	switch c.SMSProvider {
	case "none":
	case "twilio", "http":
		if c.SMSURL == "" || c.SMSFrom == "" {
			bad("TIDINGS_SMS_PROVIDER", "%s needs TIDINGS_SMS_URL and TIDINGS_SMS_FROM", c.SMSProvider)
		}
	default:
		bad("TIDINGS_SMS_PROVIDER", "must be none, twilio or http, got %q", c.SMSProvider)
	}
	for _, sec := range strings.Fields(c.WebhookSecret) {
		if _, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sec, "whsec_")); err != nil {
			bad("TIDINGS_WEBHOOK_SECRET", "each secret must be whsec_ followed by base64 (as Standard Webhooks issues them)")
			break
		}
	}
	for _, sec := range strings.Fields(c.SMSInbound) {
		if _, err := triggers.ParseSecret(sec); err != nil {
			bad("TIDINGS_SMS_INBOUND_SECRET", "each secret must be whsec_ followed by base64, e.g. whsec_$(openssl rand -base64 32)")
			break
		}
	}
	if c.SMSProvider == "twilio" && c.SMSInbound != "" {
		bad("TIDINGS_SMS_INBOUND_SECRET", "is for the http provider; Twilio signs inbound SMS with its auth token, TIDINGS_SMS_TOKEN: unset it")
	}
	if d, err := parseDays(c.InboxRetain); err != nil || d < 0 || (d > 0 && d < time.Hour) {
		bad("TIDINGS_INBOX_RETENTION", "must be a number of days such as 30d, a duration of at least 1h such as 720h, or 0 to keep payloads, got %q", c.InboxRetain)
	} else {
		c.inboxRetain = d
	}
	if v, err := campaigns.ParseShare(c.GlobalHold); err != nil {
		bad("TIDINGS_GLOBAL_HOLDOUT", "must be a share such as 5%% or 0.05, at least 0 and below 100%%, got %q", c.GlobalHold)
	} else {
		c.globalHold = v
	}
	if t, err := campaigns.ParseTopics(c.Topics); err != nil {
		bad("TIDINGS_TOPICS", "%v", err)
	} else {
		c.topics = t
	}
	if d, err := time.ParseDuration(c.TrackWindow); err != nil || d < 0 {
		bad("TIDINGS_TRACKING_MACHINE_WINDOW", "must be a duration such as 10s (0 turns the rule off), got %q", c.TrackWindow)
	} else {
		c.trackWindow = d
	}
	for _, f := range strings.Fields(c.TrustProxies) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			bad("TIDINGS_TRUSTED_PROXIES", "must be CIDRs separated by spaces, such as 10.0.0.0/8 127.0.0.1/32, got %q", f)
			break
		}
		c.trustProxies = append(c.trustProxies, p.Masked())
	}
	if d, err := time.ParseDuration(c.ClaimLease); err != nil || d < 10*time.Second {
		bad("TIDINGS_CLAIM_LEASE", "must be a duration of at least 10s such as 2m, got %q", c.ClaimLease)
	} else {
		c.claimLease = d
	}
	if d, err := campaigns.ParseDuration(c.EventKeep); err != nil || d < 24*time.Hour {
		bad("TIDINGS_EVENT_RETENTION", "must be a duration of at least 1d such as 400d, got %q", c.EventKeep)
	} else {
		c.eventKeep = d
	}
	if d, err := campaigns.ParseDuration(c.LedgerKeep); c.LedgerKeep != "0" && (err != nil || d < 30*24*time.Hour) {
		bad("TIDINGS_LEDGER_RETENTION", "must be 0 (keep every row) or a duration of at least 30d such as 400d, got %q", c.LedgerKeep)
	} else {
		c.ledgerKeep = d
	}
	for _, p := range []struct {
		env, val string
		n        *int
	}{{"TIDINGS_DB_POOL", c.DBPool, &c.dbPool}, {"TIDINGS_REDIS_POOL", c.RedisPool, &c.redisPool}} {
		if n, err := strconv.Atoi(p.val); p.val != "" && (err != nil || n < 1) {
			bad(p.env, "must be a whole number of connections of at least 1 (or empty for the default), got %q", p.val)
		} else {
			*p.n = n
		}
	}
	if m, err := strconv.ParseBool(c.Migrate); err != nil {
		bad("TIDINGS_MIGRATE", "must be true or false, got %q", c.Migrate)
	} else {
		c.migrate = m
	}
	if c.SimClock != "" {
		if _, err := worker.ParseSimClock(c.SimClock); err != nil {
			bad("TIDINGS_SIMULATED_CLOCK", "%v", err)
		}
	}
	if c.Webhooks != "" {
		subs, err := readHookSubscribers(c.Webhooks)
		if err != nil {
			bad("TIDINGS_WEBHOOKS", "%v", err)
		}
		c.hookSubs = subs
	}
	if u, err := url.Parse(c.PublicURL); err != nil || u.Scheme == "" || u.Host == "" {
		bad("TIDINGS_PUBLIC_URL", "must be an absolute URL such as https://tidings.example.com, got %q", c.PublicURL)
	}
	c.feedback = c.Feedback.validate(bad)
	c.Feedback.returnPath(c.SigningKey, bad)
	c.Feedback.loadDKIM(bad)
	c.WebhookChannel.validate(bad)
	return errors.Join(errs...)
}

// inboundSMS returns the credential that authenticates inbound SMS for the
// configured provider (Twilio's auth token, or the generic provider's
// secrets), or, when there is none, the start message that says the
// endpoint is not served and names the setting to set.
func (c *Config) inboundSMS() (twilioToken, secret, missing string) {
	const off = "the inbound SMS endpoint /v1/sms/inbound (STOP, START, HELP) is not started: "
	switch {
	case c.SMSProvider == "twilio" && c.SMSToken == "":
		return "", "", off + "TIDINGS_SMS_TOKEN is not set, so Twilio's signature cannot be checked and anyone could " +
			"send STOP or START for any number; set TIDINGS_SMS_TOKEN to the Twilio auth token"
	case c.SMSProvider == "twilio":
		return c.SMSToken, "", ""
	case c.SMSInbound == "":
		return "", "", off + "TIDINGS_SMS_INBOUND_SECRET is not set, so requests could not be authenticated and anyone " +
			"could send STOP or START for any number; set it to a whsec_ secret shared with the provider (docs/operations.md#inbound-sms)"
	}
	return "", c.SMSInbound, ""
}

// smtpPool is how many SMTP connections a process keeps: TIDINGS_SMTP_POOL,
// but no more than TIDINGS_CONCURRENCY, since a send holds one connection
// and a process runs at most that many tasks at once; more would never open.
func (c *Config) smtpPool() int { return min(c.SMTPPool, c.Concurrency) }

// startWarnings lists settings that are valid but do not do what they seem
// to; the sending processes (serve, worker) log them at start.
func (c *Config) startWarnings() []string {
	var out []string
	if c.SMTPURL != "" && c.SMTPPool > c.Concurrency {
		out = append(out, fmt.Sprintf("TIDINGS_SMTP_POOL is %d but TIDINGS_CONCURRENCY is %d: a process sends on at most "+
			"%d connections at once, so it keeps %d; raise TIDINGS_CONCURRENCY to use more",
			c.SMTPPool, c.Concurrency, c.Concurrency, c.smtpPool()))
	}
	if u, err := url.Parse(c.PublicURL); err == nil && u.Scheme != "https" {
		out = append(out, fmt.Sprintf("TIDINGS_PUBLIC_URL %s is not https: emails list the unsubscribe link but carry no "+
			"List-Unsubscribe-Post header, so mail clients cannot unsubscribe in one click (RFC 8058 needs https; "+
			"Gmail and Yahoo require it of bulk senders). Fine for local testing", c.PublicURL))
	}
	return out
}

// checkEvictionPolicy refuses a Redis whose maxmemory-policy may evict keys
// unless TIDINGS_REDIS_ALLOW_EVICTION is true: an evicted task key leaves a
// delivery waiting until the reconciler finds it, or strands it. Every node
// of a cluster is checked. Where CONFIG is disabled or renamed (managed
// Redis), it warns and goes on.
func (a *app) checkEvictionPolicy(ctx context.Context, rdb redis.UniversalClient) error {
	return redisconn.ForEachNode(ctx, rdb, func(ctx context.Context, node *redis.Client) error {
		return a.checkNodeEvictionPolicy(ctx, node)
	})
}

// checkNodeEvictionPolicy is checkEvictionPolicy on one server.
func (a *app) checkNodeEvictionPolicy(ctx context.Context, rdb *redis.Client) error {
	addr := rdb.Options().Addr
	res, err := rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	policy := res["maxmemory-policy"]
	if err != nil || policy == "" {
		a.log.Warn("could not check Redis's maxmemory-policy (CONFIG GET is disabled or renamed, as on some managed Redis): "+
			"make sure it is noeviction, or queued tasks can be evicted", "addr", addr, "err", err)
		return nil
	}
	if policy == "noeviction" {
		return nil
	}
	if a.cfg.allowEviction {
		a.log.Warn("Redis may evict queued tasks (maxmemory-policy is not noeviction); starting anyway as "+
			"TIDINGS_REDIS_ALLOW_EVICTION=true: the reconciler re-enqueues what is lost, late",
			"addr", addr, "policy", policy)
		return nil
	}
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Errorf("redis at %s has maxmemory-policy %s: it may evict queued tasks, leaving messages unsent until "+
		"the reconciler notices; run `redis-cli -h %s -p %s CONFIG SET maxmemory-policy noeviction` (and set it in "+
		"redis.conf, or your provider's settings, so it lasts), or set TIDINGS_REDIS_ALLOW_EVICTION=true to start anyway",
		addr, policy, host, port)
}

// Location is the default time zone.
func (c *Config) Location() *time.Location { return c.location }

// Lease is the claim lease (TIDINGS_CLAIM_LEASE).
func (c *Config) Lease() time.Duration { return c.claimLease }

// EventRetention is how long the events log keeps an event.
func (c *Config) EventRetention() time.Duration { return c.eventKeep }

// LedgerRetention is TIDINGS_LEDGER_RETENTION; 0 keeps every ledger row.
func (c *Config) LedgerRetention() time.Duration { return c.ledgerKeep }

// GlobalHoldout is TIDINGS_GLOBAL_HOLDOUT with its salt.
func (c *Config) GlobalHoldout() worker.GlobalHoldout {
	return worker.GlobalHoldout{Share: c.globalHold, Salt: c.GlobalSalt}
}

// TopicList is TIDINGS_TOPICS, parsed.
func (c *Config) TopicList() []campaigns.Topic { return c.topics }

// TrackingMachineWindow is TIDINGS_TRACKING_MACHINE_WINDOW.
func (c *Config) TrackingMachineWindow() time.Duration { return c.trackWindow }

// TrustedProxies is TIDINGS_TRUSTED_PROXIES.
func (c *Config) TrustedProxies() []netip.Prefix { return c.trustProxies }

// InboxRetention is TIDINGS_INBOX_RETENTION; 0 keeps webhook payloads.
func (c *Config) InboxRetention() time.Duration { return c.inboxRetain }

// parseDays reads "30d" as 30 days, anything else as a Go duration ("0" too).
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		return time.Duration(days) * 24 * time.Hour, err
	}
	return time.ParseDuration(s)
}

// redactURL hides the password of a URL before it is printed, also when the
// URL does not parse (email.RedactURL).
func redactURL(s string) string { return email.RedactURL(s) }
