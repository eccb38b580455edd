package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// Options tune an Engine. Zero values take the documented defaults.
type Options struct {
	ShardSize  int64          // customer ids per shard task (default 20,000)
	DefaultLoc *time.Location // zone for customers without one (default UTC)
	// Policy is the contact policy in force at start (default
	// campaigns.DefaultPolicy); LoadPolicy and WatchPolicy replace it.
	Policy *campaigns.Policy
	Lease  time.Duration    // a claim older than this is expired by the reconciler (default 2 min)
	Now    func() time.Time // the clock (tests drive a fake one)
	Logger *slog.Logger
	// PauseRecheck is how long a paused campaign's due message is held
	// before it is looked at again (default 1 min).
	PauseRecheck time.Duration
	// Metrics receives the engine's Prometheus series (nil: none).
	Metrics *Metrics
	// Insights configures the daily refresh of customer intelligence.
	Insights InsightsOptions
	// UnsubscribeURL returns the one-click unsubscribe URL for a delivery.
	UnsubscribeURL func(d *store.Delivery) string
	// SurveyURL returns the signed link that answers score to a survey
	// message (.survey.links).
	SurveyURL func(d *store.Delivery, kind campaigns.SurveyKind, score int) string
	// PreferencesURL returns the link to the customer's preference page
	// (topics, unsubscribe from all) for a delivery; nil: none.
	PreferencesURL func(d *store.Delivery) string
	// TrackHTML puts a campaign's open and click tracking (Campaign.Tracking)
	// into the HTML part of a delivery's email rendered at now; unsub is the
	// message's unsubscribe link, never rewritten (nil: no tracking).
	TrackHTML func(d *store.Delivery, t campaigns.Tracking, html, unsub string, now time.Time) string
	// EventRetention is how long the events log keeps an event
	// (TIDINGS_EVENT_RETENTION; default store.DefaultEventRetention).
	EventRetention time.Duration
	// LedgerRetention is how long the deliveries ledger keeps an occurrence
	// after its last row was planned (TIDINGS_LEDGER_RETENTION; 0: for
	// ever); campaign files are checked against it (no journey waits longer).
	LedgerRetention time.Duration
	// Erase names the queue and outbox an erasure cleans (Engine.Erase).
	Erase EraseTargets
	// InboxRetention is how long webhook payloads are kept; the reconciler
	// empties older ones (0: kept for ever; TIDINGS_INBOX_RETENTION sets 30 days).
	InboxRetention time.Duration
	// Topics are the deployment's topics (TIDINGS_TOPICS), which campaign
	// files are checked against and the preference page lists.
	Topics []campaigns.Topic
	// WebhookHosts are the hosts the webhook channel may post to
	// (TIDINGS_WEBHOOK_HOSTS); a campaign's webhook url on another host is
	// a load error.
	WebhookHosts []string
	// GlobalHoldout is the share of customers who receive no promotional
	// campaign (TIDINGS_GLOBAL_HOLDOUT; zero: none).
	GlobalHoldout GlobalHoldout
	// BlockRows is the most rows the engine holds claimed or sent but not
	// yet recorded, across its workers: what a crash of the process can
	// leave unknown (default DefaultBlockRows). BlockTime sizes a block to
	// about that much time of sends (default DefaultBlockTime), and
	// SendParallel is how many messages of a block go out at once (default
	// DefaultSendParallel). blocks.go.
	BlockRows    int
	BlockTime    time.Duration
	SendParallel int
	// DoubleOptIn, when its Campaign is set, makes an email consent granted
	// through the profile API wait for the customer's confirmation
	// (TIDINGS_DOUBLE_OPT_IN; optin.go).
	DoubleOptIn DoubleOptIn
}

// Engine runs campaigns: it holds the loaded campaigns, the store, the
// channels and the queue, and provides the asynq handlers.
type Engine struct {
	st       *store.Store
	q        *Enqueuer
	channels map[channels.Name]channels.Channel
	opts     Options
	camps    atomic.Pointer[map[string]*campaigns.Campaign]
	folder   atomic.Pointer[folderState] // the campaigns folder as LoadCampaigns last saw it
	policy   atomic.Pointer[campaigns.Policy]
	polFile  atomic.Pointer[policyFile] // the policy file as LoadPolicy last saw it
	pauses   pauses
	blocks   *claimBudget // the rows claimed and not yet recorded, and the size of a block
	// journeyPoke asks this process's journey sweeper for a pass now.
	journeyPoke chan struct{}
	// journeysSeen is each journey's model as the last sweep saw it: a new
	// one (the file was edited) has its removed steps' customers exited.
	journeysSeen sync.Map
}

// NewEngine returns an engine over st, sending through chans (keyed by
// channel: channels.Email, channels.SMS) and enqueuing with q.
func NewEngine(st *store.Store, q *Enqueuer, chans map[channels.Name]channels.Channel, opts Options) *Engine {
	if opts.ShardSize <= 0 {
		opts.ShardSize = 20000
	}
	if opts.DefaultLoc == nil {
		opts.DefaultLoc = time.UTC
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PauseRecheck <= 0 {
		opts.PauseRecheck = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.BlockRows <= 0 {
		opts.BlockRows = DefaultBlockRows
	}
	if opts.BlockTime <= 0 {
		opts.BlockTime = DefaultBlockTime
	}
	if opts.SendParallel <= 0 {
		opts.SendParallel = DefaultSendParallel
	}
	if opts.PreferencesURL == nil {
		opts.PreferencesURL = func(*store.Delivery) string { return "" }
	}
	if opts.UnsubscribeURL == nil {
		opts.UnsubscribeURL = func(*store.Delivery) string { return "" }
	}
	if opts.SurveyURL == nil {
		opts.SurveyURL = func(*store.Delivery, campaigns.SurveyKind, int) string { return "" }
	}
	e := &Engine{st: st, q: q, channels: chans, opts: opts, journeyPoke: make(chan struct{}, 1),
		blocks: newClaimBudget(opts.BlockRows, opts.BlockTime, opts.SendParallel)}
	e.SetCampaigns(nil)
	e.SetPolicy(opts.Policy)
	return e
}

// SetCampaigns replaces the loaded campaigns (on start and when files change).
func (e *Engine) SetCampaigns(list []*campaigns.Campaign) {
	m := make(map[string]*campaigns.Campaign, len(list))
	for _, c := range list {
		m[c.ID] = c
	}
	e.camps.Store(&m)
}

// Campaign returns a loaded campaign by id.
func (e *Engine) Campaign(id string) (*campaigns.Campaign, bool) {
	c, ok := (*e.camps.Load())[id]
	return c, ok
}

// Campaigns returns the loaded campaigns.
func (e *Engine) Campaigns() []*campaigns.Campaign {
	m := *e.camps.Load()
	out := make([]*campaigns.Campaign, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *campaigns.Campaign) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Register installs the engine's task handlers on mux.
func (e *Engine) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeRun, e.handleRun)
	mux.HandleFunc(TypeShard, e.handleShard)
	mux.HandleFunc(TypeDeliver, e.handleDeliver)
	mux.HandleFunc(TypeEventPurchase, e.handleEvent)
	mux.HandleFunc(TypeDeliverBatch, e.handleDeliverBatch)
	mux.HandleFunc(TypeInsights, e.handleInsights)
	mux.HandleFunc(TypeEventLog, e.handleEventLog)
}

func (e *Engine) now() time.Time { return e.opts.Now().UTC() }

// log is the engine's logger.
func (e *Engine) log() *slog.Logger { return e.opts.Logger }

// enqueueInsights enqueues the insights refresh of one UTC day (once a day:
// the task id is the day).
func (e *Engine) enqueueInsights(ctx context.Context, day string) error {
	return e.q.Insights(ctx, day)
}

// handleRun plans a firing: it creates the run (once, whoever fires it), splits
// the customer id space into shards, records them, and enqueues one task per
// shard so every worker shares the audience.
func (e *Engine) handleRun(ctx context.Context, t *asynq.Task) error {
	p, err := decode[RunPayload](t)
	if err != nil {
		return err
	}
	c, ok := e.Campaign(p.Campaign)
	if !ok {
		e.opts.Logger.Warn("run for a campaign that is not loaded; dropped", "campaign", p.Campaign)
		return nil
	}
	if c.Trigger.Kind == campaigns.TriggerSchedule && !p.WallKeys {
		// Enqueued by an earlier version's scheduler (before or during an
		// upgrade), naming the firing by its UTC instant: run it under
		// today's key, so it and the same firing enqueued by a new
		// scheduler are one run.
		p.Occurrence = c.Trigger.Schedule.UpgradeKey(p.Occurrence)
	}
	run, err := e.st.StartRun(ctx, c.ID, p.Occurrence, p.ScheduledFor, e.now())
	if err != nil {
		return err
	}
	return e.planShards(ctx, run)
}

func (e *Engine) planShards(ctx context.Context, run *store.Run) error {
	if run.Status == store.RunDone {
		return nil
	}
	lo, hi, err := e.st.CustomerIDRange(ctx)
	if err != nil {
		return err
	}
	var shards []store.Shard
	for from := lo - 1; from < hi; from += e.opts.ShardSize {
		shards = append(shards, store.Shard{RunID: run.ID, Lo: from, Hi: min(from+e.opts.ShardSize, hi)})
	}
	if len(shards) == 0 { // no customers: an empty shard completes the run
		shards = append(shards, store.Shard{RunID: run.ID, Lo: 0, Hi: 0})
	}
	if err := e.st.AddShards(ctx, shards, e.now()); err != nil {
		return err
	}
	for _, sh := range shards {
		if err := e.q.Shard(ctx, ShardPayload{RunID: sh.RunID, Lo: sh.Lo, Hi: sh.Hi}); err != nil {
			return err
		}
	}
	e.opts.Logger.Info("run planned", "campaign", run.CampaignID, "occurrence", run.Occurrence, "shards", len(shards))
	return nil
}

// handleShard evaluates one id range of a run and writes its ledger rows.
func (e *Engine) handleShard(ctx context.Context, t *asynq.Task) error {
	p, err := decode[ShardPayload](t)
	if err != nil {
		return err
	}
	done, err := e.st.ShardDone(ctx, p.RunID, p.Lo)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("shard %d/%d not recorded: %w", p.RunID, p.Lo, asynq.SkipRetry)
	}
	if err != nil || done {
		return err
	}
	run, err := e.st.RunByID(ctx, p.RunID)
	if err != nil {
		return err
	}
	c, ok := e.Campaign(run.CampaignID)
	if !ok {
		e.opts.Logger.Warn("shard for a campaign that is not loaded; finished empty", "campaign", run.CampaignID)
		_, err := e.st.FinishShard(ctx, p.RunID, p.Lo, map[string]int{}, e.now())
		return err
	}
	counts, err := e.planAudience(ctx, c, run, p)
	if err != nil {
		return err
	}
	e.opts.Metrics.planned(c.ID, counts)
	runDone, err := e.st.FinishShard(ctx, p.RunID, p.Lo, counts, e.now())
	if err == nil && runDone {
		e.opts.Metrics.runDone(c.ID)
		e.opts.Logger.Info("run evaluated", "campaign", c.ID, "occurrence", run.Occurrence)
	}
	return err
}

// Enqueue fires a campaign now with the given run key (Fire, and tests). The
// same key twice is one run.
func (e *Engine) Enqueue(ctx context.Context, campaignID, key string, scheduledFor time.Time) error {
	if _, ok := e.Campaign(campaignID); !ok {
		return fmt.Errorf("no campaign %q is loaded", campaignID)
	}
	if paused, err := e.Paused(ctx, campaignID); err != nil || paused {
		if err == nil {
			err = fmt.Errorf("%s: %w", campaignID, ErrPaused)
		}
		return err
	}
	return e.q.Run(ctx, RunPayload{Campaign: campaignID, Occurrence: key, ScheduledFor: scheduledFor.UTC()})
}
