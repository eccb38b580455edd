package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/tidings-crm/tidings/stdwebhook"
	"github.com/tidings-crm/tidings/store"
)

// HookSubscriber is one receiver of outgoing webhooks (TIDINGS_WEBHOOKS):
// the facts of its Events are posted to URL, signed with Secret.
type HookSubscriber struct {
	Name   string   `yaml:"name"`
	URL    string   `yaml:"url"`
	Secret string   `yaml:"secret"` // whsec_<base64>, as Standard Webhooks issues them
	Events []string `yaml:"events"`
}

// HookOptions tune the outgoing webhooks. Zero values take the defaults.
type HookOptions struct {
	Subscribers []HookSubscriber
	// MaxAttempts is the retry budget: a row whose MaxAttempts-th post
	// fails goes to the dead-letter list (default 10, about 1.4 hours of
	// retries with the default backoff).
	MaxAttempts int
	// Backoff is the wait after the n-th failed attempt (n from 1);
	// default HookBackoff.
	Backoff func(n int) time.Duration
	Client  *http.Client     // default: 10 s timeout, redirects refused
	Lease   time.Duration    // how long a sweeper holds a row it posts (default 1 min)
	Now     func() time.Time // the clock
	Logger  *slog.Logger
}

// HookBackoff is the default wait after the n-th failed post: 5 s doubling,
// at most 1 h (5 s, 10 s, 20 s, ... 42 min, 1 h).
func HookBackoff(n int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// hookBatch is how many due rows one claim takes.
const hookBatch = 100

// hookParallel is how many posts one sweeper has in flight.
const hookParallel = 8

// Hooks posts the webhook outbox to its subscribers. Every worker process
// runs one (RunHooks); they share the due rows.
type Hooks struct {
	st   *store.Store
	opts HookOptions
	subs map[string]HookSubscriber
}

// NewHooks checks the subscribers and declares them to the store, which
// from then on writes the facts they take to the outbox.
func NewHooks(st *store.Store, opts HookOptions) (*Hooks, error) {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.Backoff == nil {
		opts.Backoff = HookBackoff
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := CheckHookSubscribers(opts.Subscribers); err != nil {
		return nil, err
	}
	h := &Hooks{st: st, opts: opts, subs: map[string]HookSubscriber{}}
	routes := store.HookRoutes{}
	for _, s := range opts.Subscribers {
		h.subs[s.Name] = s
		for _, typ := range s.Events {
			routes[typ] = append(routes[typ], s.Name)
		}
	}
	st.SetHookRoutes(routes)
	return h, nil
}

// CheckHookSubscribers says what is wrong with a list of subscribers, each
// problem with the subscriber's place and name.
func CheckHookSubscribers(subs []HookSubscriber) error {
	seen := map[string]HookSubscriber{}
	var errs []error
	for i, s := range subs {
		if err := checkSubscriber(s, seen); err != nil {
			errs = append(errs, fmt.Errorf("subscriber %d (%q): %w", i+1, s.Name, err))
		}
		seen[s.Name] = s
	}
	return errors.Join(errs...)
}

// checkSubscriber says what is wrong with s, given the ones before it.
func checkSubscriber(s HookSubscriber, seen map[string]HookSubscriber) error {
	switch {
	case s.Name == "":
		return errors.New("needs a name (it keys its rows in the outbox; keep it stable)")
	case seen[s.Name].Name != "":
		return errors.New("the name is used twice")
	case s.URL == "":
		return errors.New("needs a url")
	case len(s.Events) == 0:
		return fmt.Errorf("needs events, among %v", store.HookTypes)
	}
	if err := checkHookURL(s.URL); err != nil {
		return err
	}
	if _, err := stdwebhook.ParseSecret(s.Secret); err != nil {
		return fmt.Errorf("secret: %w (e.g. whsec_$(openssl rand -base64 32))", err)
	}
	for _, typ := range s.Events {
		if !slices.Contains(store.HookTypes, typ) {
			return fmt.Errorf("unknown event %q; known events: %v", typ, store.HookTypes)
		}
	}
	return nil
}

// HookSweep counts what one sweep did.
type HookSweep struct {
	Delivered int // rows posted and acknowledged
	Failed    int // attempts that failed and will be retried
	Dead      int // rows moved to the dead-letter list
}

// RunHooks posts due outbox rows every interval until ctx ends.
func (h *Hooks) RunHooks(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := h.Sweep(ctx); err != nil && ctx.Err() == nil {
			h.opts.Logger.Error("webhook sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep posts the rows due now. A customer's next row becomes due when
// the one before it is delivered, so a sweep claims again while its last
// claim delivered something (bounded, so one busy customer cannot hold it).
func (h *Hooks) Sweep(ctx context.Context) (HookSweep, error) {
	var rep HookSweep
	for range 50 {
		rows, err := h.st.ClaimDueHooks(ctx, h.opts.Now(), hookBatch, h.opts.Lease)
		if err != nil {
			return rep, err
		}
		before := rep.Delivered
		h.postAll(ctx, rows, &rep)
		if len(rows) == 0 || rep.Delivered == before {
			break
		}
	}
	return rep, nil
}

// postAll posts rows, hookParallel at a time, and records each outcome.
func (h *Hooks) postAll(ctx context.Context, rows []store.HookRow, rep *HookSweep) {
	var mu sync.Mutex
	sem := make(chan struct{}, hookParallel)
	var wg sync.WaitGroup
	for _, r := range rows {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			outcome := h.deliver(ctx, r)
			mu.Lock()
			defer mu.Unlock()
			switch outcome {
			case store.HookDelivered:
				rep.Delivered++
			case store.HookDead:
				rep.Dead++
			default:
				rep.Failed++
			}
		})
	}
	wg.Wait()
}

// deliver posts one row and records what happened; it returns the row's
// new status.
func (h *Hooks) deliver(ctx context.Context, r store.HookRow) store.HookStatus {
	attempts := r.Attempts + 1
	postErr := h.post(ctx, r)
	// The outcome is recorded even when ctx ended meanwhile.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := h.opts.Now()
	if postErr == nil {
		if err := h.st.HookDone(wctx, r.ID, attempts, now); err != nil {
			h.opts.Logger.Error("webhook delivered but not recorded; it will be posted again", "webhook", r.ID, "err", err)
		}
		return store.HookDelivered
	}
	dead := attempts >= h.opts.MaxAttempts
	if err := h.st.HookFailed(wctx, r.ID, attempts, postErr.Error(), now.Add(h.opts.Backoff(attempts)), dead); err != nil {
		h.opts.Logger.Error("webhook failure not recorded", "webhook", r.ID, "err", err)
	}
	if dead {
		h.opts.Logger.Warn("webhook dead-lettered after its retry budget; `tidings webhooks replay` sends it again",
			"webhook", r.ID, "subscriber", r.Subscriber, "attempts", attempts, "err", postErr)
		return store.HookDead
	}
	return store.HookPending
}

// post sends one row to its subscriber, signed; nil means a 2xx answer.
func (h *Hooks) post(ctx context.Context, r store.HookRow) error {
	sub, ok := h.subs[r.Subscriber]
	if !ok {
		return fmt.Errorf("subscriber %q is no longer configured", r.Subscriber)
	}
	req, err := stdwebhook.SignedRequest(ctx, sub.Secret, sub.URL, r.MessageID(), h.opts.Now(), []byte(r.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "Tidings-Webhooks/1")
	res, err := h.opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post to %s: %w", sub.Name, err)
	}
	defer res.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, 200))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s: %s", sub.Name, res.Status, bytes.TrimSpace(snippet))
	}
	return nil
}

// checkHookURL refuses a subscriber URL that is not absolute http(s).
func checkHookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("url %q must be an absolute http:// or https:// URL", raw)
	}
	return nil
}
