package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/outbox"
	"github.com/tidings-crm/tidings/channels/sms"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/web/tracking"
	"github.com/tidings-crm/tidings/web/unsubscribe"
	"github.com/tidings-crm/tidings/worker"
	"github.com/tidings-crm/tidings/worker/redisconn"
)

// runtime is everything a running Tidings process holds: the store, Redis,
// the queue client, the channels and the engine. close releases it all.
type runtime struct {
	st      *store.Store
	rdb     redis.UniversalClient
	client  *asynq.Client
	queue   *worker.Enqueuer // on client, verifying task-id conflicts against rdb
	engine  *worker.Engine
	hooks   *worker.Hooks // posts the outgoing webhooks; declares their subscribers to the store
	signer  unsubscribe.Signer
	tracker *tracking.Recorder // the tracked links' batch writer, once the HTTP server mounts them
	outbox  *outbox.Outbox     // where messages go without a provider; an erasure cleans it
	metrics *prometheus.Registry
	closers []func()
}

func (r *runtime) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// openRuntime opens the store, Redis (or an in-process one), the channels and
// the engine with the campaigns folder loaded. With migrate it applies pending
// migrations; without, it refuses a database that has some (requireMigrated).
// A broken campaign file does not stop it: the valid campaigns run, the broken
// files are logged and shown by /readyz and the dashboard.
func (a *app) openRuntime(ctx context.Context, migrate bool) (*runtime, error) {
	rt := &runtime{}
	ok := false
	defer func() {
		if !ok {
			rt.close()
		}
	}()
	st, err := a.openStore(ctx, migrate)
	if err != nil {
		return nil, err
	}
	rt.st = st
	rt.closers = append(rt.closers, func() { st.Close() })
	if !migrate {
		if err := requireMigrated(ctx, st); err != nil {
			return nil, err
		}
		if err := a.loadHashKey(ctx, st); err != nil {
			return nil, err
		}
	}
	if rt.rdb, err = a.openRedis(rt); err != nil {
		return nil, err
	}
	rt.client = asynq.NewClientFromRedisClient(rt.rdb)
	rt.queue = &worker.Enqueuer{Client: rt.client, Redis: rt.rdb, Logger: a.log}
	chans, err := a.openChannels(rt)
	if err != nil {
		return nil, err
	}
	rt.signer = a.signer()
	rt.metrics = prometheus.NewRegistry()
	inspector := asynq.NewInspectorFromRedisClient(rt.rdb)
	rt.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		worker.NewQueueDepth(inspector), worker.NewConsentChanges(st))
	if st.HasReplica() {
		rt.metrics.MustRegister(worker.NewReplicaMetrics(st))
	}
	insightsOpts, err := a.insightsOptions()
	if err != nil {
		return nil, err
	}
	insightsOpts.CalibrationWeeks = float64(a.cfg.Calibration)
	rt.engine = worker.NewEngine(st, rt.queue, chans, worker.Options{
		Now:             a.now,
		DefaultLoc:      a.cfg.Location(),
		Lease:           a.cfg.Lease(),
		InboxRetention:  a.cfg.InboxRetention(),
		Topics:          a.cfg.TopicList(),
		WebhookHosts:    a.cfg.WebhookChannel.hosts,
		GlobalHoldout:   a.cfg.GlobalHoldout(),
		DoubleOptIn:     worker.DoubleOptIn{Campaign: a.cfg.DoubleOptIn, URL: confirmURL(rt.signer, a.cfg.PublicURL)},
		Logger:          a.log,
		UnsubscribeURL:  unsubscribeURL(rt.signer, a.cfg.PublicURL),
		SurveyURL:       surveyURL(rt.signer, a.cfg.PublicURL),
		PreferencesURL:  preferencesURL(rt.signer, a.cfg.PublicURL),
		TrackHTML:       trackHTML(rt.signer, a.cfg.PublicURL),
		Insights:        insightsOpts,
		Metrics:         worker.NewMetrics(rt.metrics),
		EventRetention:  a.cfg.EventRetention(),
		LedgerRetention: a.cfg.LedgerRetention(),
		Erase:           worker.EraseTargets{Inspector: inspector, Outbox: rt.outbox},
	})
	// Every process declares the subscribers: the facts it writes (an
	// unsubscribe on the web, an exit in a sweep) go to their outbox.
	if rt.hooks, err = worker.NewHooks(st, worker.HookOptions{Subscribers: a.cfg.hookSubs,
		MaxAttempts: a.cfg.HookAttempts, Logger: a.log}); err != nil {
		return nil, fmt.Errorf("TIDINGS_WEBHOOKS: %w", err)
	}
	rt.engine.LoadCampaigns(a.cfg.CampaignsDir)
	if err := rt.engine.CheckDoubleOptIn(); err != nil {
		return nil, fmt.Errorf("TIDINGS_DOUBLE_OPT_IN: %w", err)
	}
	if err := a.loadPolicy(rt.engine); err != nil {
		return nil, err
	}
	ok = true
	return rt, nil
}

// loadPolicy puts TIDINGS_POLICY in force. A policy file with errors stops
// the start (there is no earlier version to keep; guessing the rules that
// protect customers is not an option); later, a broken edit keeps the
// policy in force (WatchPolicy).
func (a *app) loadPolicy(e *worker.Engine) error {
	if a.cfg.Policy == "" {
		return nil
	}
	problems := e.LoadPolicy(a.cfg.Policy)
	if !campaigns.HasErrors(problems) {
		return nil
	}
	lines := make([]string, 0, len(problems))
	for _, p := range problems {
		lines = append(lines, p.String())
	}
	return fmt.Errorf("TIDINGS_POLICY %s has errors; fix them (tidings validate checks it) or unset TIDINGS_POLICY for the default policy:\n%s",
		a.cfg.Policy, strings.Join(lines, "\n"))
}

// openRedis connects to TIDINGS_REDIS_URL (one server or a Redis Cluster),
// refusing a Redis that may evict queued tasks, or starts an in-process Redis (miniredis) for "embedded":
// the demo and small shops need no service.
func (a *app) openRedis(rt *runtime) (redis.UniversalClient, error) {
	if a.cfg.RedisURL == "embedded" {
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		rt.closers = append(rt.closers, mr.Close)
		rdb := redisconn.Target{Single: &redis.Options{Addr: mr.Addr()}}.Client(a.cfg.redisPool)
		rt.closers = append(rt.closers, func() { rdb.Close() })
		return rdb, nil
	}
	target, err := redisconn.Parse(a.cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("TIDINGS_REDIS_URL: %w", err)
	}
	rdb := target.Client(a.cfg.redisPool)
	rt.closers = append(rt.closers, func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis at %s is not reachable: %w (start it, or set TIDINGS_REDIS_URL=embedded)", target.Addr(), err)
	}
	if err := a.checkEvictionPolicy(ctx, rdb); err != nil {
		return nil, err
	}
	return rdb, nil
}

// openChannels builds the email and SMS channels: real providers when
// configured, the outbox folder otherwise; each behind a rate limit and a
// circuit breaker.
func (a *app) openChannels(rt *runtime) (map[channels.Name]channels.Channel, error) {
	from, err := mail.ParseAddress(a.cfg.SMTPFrom)
	if err != nil {
		return nil, fmt.Errorf("TIDINGS_SMTP_FROM %q: %w", a.cfg.SMTPFrom, err)
	}
	id := email.Identity{From: from.Address, FromName: from.Name}
	var emailCh, smsCh channels.Channel
	box, err := outbox.New(a.cfg.OutboxDir, id)
	if err != nil {
		return nil, err
	}
	rt.outbox = box
	emailCh, smsCh = box.Email(), box.SMS()
	if a.cfg.SMTPURL != "" {
		cfg, err := email.ParseURL(a.cfg.SMTPURL)
		if err != nil {
			return nil, fmt.Errorf("TIDINGS_SMTP_URL: %w", err)
		}
		cfg.From, cfg.FromName, cfg.PoolSize, cfg.Logger = from.Address, from.Name, a.cfg.smtpPool(), a.log
		cfg.ReturnPath, cfg.DKIM = a.cfg.Feedback.verp, a.cfg.Feedback.dkim
		sender, err := email.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("email: %w", err)
		}
		rt.closers = append(rt.closers, func() { sender.Close() })
		emailCh = sender
	}
	switch a.cfg.SMSProvider {
	case "twilio":
		smsCh, err = sms.NewTwilio(sms.TwilioConfig{BaseURL: a.cfg.SMSURL, AccountSID: a.cfg.SMSAccount,
			AuthToken: a.cfg.SMSToken, From: a.cfg.SMSFrom, StatusCallback: a.twilioStatusCallback()})
	case "http":
		smsCh, err = sms.NewGeneric(sms.GenericConfig{URL: a.cfg.SMSURL, Token: a.cfg.SMSToken, From: a.cfg.SMSFrom})
	}
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	out := map[channels.Name]channels.Channel{
		channels.Email: channels.Breaker(channels.Limited(emailCh, rate.Limit(a.cfg.EmailRate), a.cfg.EmailRate), channels.BreakerConfig{}),
		channels.SMS:   channels.Breaker(channels.Limited(smsCh, rate.Limit(a.cfg.SMSRate), a.cfg.SMSRate), channels.BreakerConfig{}),
	}
	hook, err := a.cfg.WebhookChannel.channel()
	if err != nil {
		return nil, fmt.Errorf("webhook channel: %w", err)
	}
	if hook != nil {
		out[channels.Webhook] = hook
	}
	return out, nil
}

// asynqServer returns a worker server on rt's Redis running the engine.
func (a *app) asynqServer(rt *runtime) (*asynq.Server, *asynq.ServeMux) {
	srv := asynq.NewServerFromRedisClient(rt.rdb, asynq.Config{
		Concurrency:       a.cfg.Concurrency,
		Queues:            map[string]int{worker.QueueDeliver: 6, worker.QueuePlan: 3},
		RetryDelayFunc:    worker.RetryDelay,
		IsFailure:         worker.IsFailure,
		ShutdownTimeout:   8 * time.Second,
		TaskCheckInterval: worker.TaskCheckInterval,
		Logger:            asynqLogger{a.log},
		LogLevel:          asynq.WarnLevel,
	})
	mux := asynq.NewServeMux()
	rt.engine.Register(mux)
	return srv, mux
}

// asynqLogger routes asynq's logs to slog.
type asynqLogger struct{ l *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.l.Debug(fmt.Sprint(args...)) }
func (l asynqLogger) Info(args ...any)  { l.l.Info(fmt.Sprint(args...)) }
func (l asynqLogger) Warn(args ...any)  { l.l.Warn(fmt.Sprint(args...)) }
func (l asynqLogger) Error(args ...any) { l.l.Error(fmt.Sprint(args...)) }
func (l asynqLogger) Fatal(args ...any) { l.l.Error(fmt.Sprint(args...)) }
