package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/worker"
)

// A journey's waits last days; the demo shows one at work in seconds by
// running it on a simulated clock in a scratch database: a temporary SQLite
// file seeded with the demo's synthetic customers (the same seed), an
// in-process Redis and an outbox beside it, all removed at the end. The
// engine reads the simulated clock; the clock moves an hour at a time, each
// hour swept as the sweeper would, and each simulated day prints the
// journey's funnel as `tidings report` computes it. Each simulated day at
// 15:00, a stable 3% of the customers inside (and of the holdout) buy
// something, posted through
// the events API's handler (/v1/events), so the journey's exit_on is seen
// at work.

// simClock is the demo's simulated clock, moved by hand.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *simClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// busiestJourney is the id of the journey fired now that the most customers
// entered, or "" when none was fired.
func busiestJourney(ctx context.Context, e *worker.Engine, fired []demoFiring) (string, error) {
	best, most := "", int64(-1)
	for _, d := range fired {
		if d.c.Journey == nil || !d.started() {
			continue
		}
		r, err := e.Report(ctx, d.c.ID)
		if err != nil {
			return "", err
		}
		if r.Journey != nil && r.Journey.Entered > most {
			best, most = d.c.ID, r.Journey.Entered
		}
	}
	return best, nil
}

// demoSimulate runs journey id for days simulated days over customers
// synthetic customers in a scratch database and prints its funnel per day.
func (a *app) demoSimulate(ctx context.Context, id string, days, customers int) error {
	dir, err := os.MkdirTemp("", "tidings-journey-")
	if err != nil {
		return fmt.Errorf("demo: scratch folder: %w", err)
	}
	defer os.RemoveAll(dir)
	start := time.Now().UTC().Truncate(time.Hour)
	clock := &simClock{t: start}
	sim := *a
	sim.cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "tidings.db")
	sim.cfg.RedisURL, sim.cfg.SMTPURL, sim.cfg.SMSProvider = "embedded", "", "none"
	sim.cfg.OutboxDir = filepath.Join(dir, "outbox")
	sim.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sim.now = clock.Now
	rt, err := sim.openRuntime(ctx, true)
	if err != nil {
		return err
	}
	defer rt.close()
	c, err := simulable(rt.engine, id)
	if err != nil {
		return err
	}
	if err := seedDemo(ctx, rt.st, customers, start); err != nil {
		return err
	}
	opts, err := a.insightsOptions()
	if err != nil {
		return err
	}
	if _, err := worker.RefreshInsights(ctx, rt.st, start, opts); err != nil {
		return fmt.Errorf("demo: insights refresh: %w", err)
	}
	srv, mux := sim.asynqServer(rt)
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	defer srv.Shutdown()
	const key = "simulated"
	if err := rt.engine.Enqueue(ctx, c.ID, key, start); err != nil {
		return err
	}
	if err := waitSettled(ctx, rt.st, []demoFiring{{c: c, Firing: worker.Firing{Occurrence: key,
		Status: worker.FiringStarted}}}, 2*time.Minute); err != nil {
		return err
	}
	buy, err := newSimShop(rt, clock.Now)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\n%s over %d simulated days (a scratch database of %d synthetic customers, the clock moved an hour at a time; removed after):\n",
		c.ID, days, customers)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, simHeader(c))
	for hour := 0; hour <= days*24; hour++ {
		clock.set(start.Add(time.Duration(hour) * time.Hour))
		if hour%24 == 15 {
			if err := buy.purchases(ctx, c.ID, clock.Now()); err != nil {
				return err
			}
		}
		if err := simHour(ctx, rt, clock); err != nil {
			return err
		}
		if hour%24 != 0 {
			continue
		}
		r, err := rt.engine.Report(ctx, c.ID)
		if err != nil {
			return err
		}
		fmt.Fprintln(tw, simRow(hour/24, clock.Now(), r.Journey))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "  (a send step: messages sent so far; a wait: customers at it now; LEFT: customers who left, by reason; %d simulated purchases)\n",
		buy.n)
	return nil
}

// simulable returns the journey id, or an error naming the journeys that
// can be simulated: those a schedule or a daily trigger fires (an
// event-triggered one enters on the shop's events).
func simulable(e *worker.Engine, id string) (*campaigns.Campaign, error) {
	var ok []string
	for _, c := range e.Campaigns() {
		if c.Journey != nil && c.Trigger.Kind != campaigns.TriggerEvent {
			ok = append(ok, c.ID)
		}
	}
	sort.Strings(ok)
	c, found := e.Campaign(id)
	switch {
	case !found:
		return nil, fmt.Errorf("--journey %s: no campaign %q is loaded; journeys to simulate: %s", id, id, strings.Join(ok, ", "))
	case c.Journey == nil:
		return nil, fmt.Errorf("--journey %s: %s is a one-message campaign; journeys to simulate: %s", id, id, strings.Join(ok, ", "))
	case c.Trigger.Kind == campaigns.TriggerEvent:
		return nil, fmt.Errorf("--journey %s: customers enter it on the shop's events, which the demo has none of; journeys to simulate: %s",
			id, strings.Join(ok, ", "))
	}
	return c, nil
}

// simHour runs one simulated hour: the messages whose time has come (held
// for a send time or quiet hours) are queued again, the journeys swept, and
// the sends waited for.
func simHour(ctx context.Context, rt *runtime, clock *simClock) error {
	// A held message's task is due at its simulated time, which asynq (on
	// the wall clock) has not reached: the reconciler queues it again now.
	if n, err := rt.st.CountDue(ctx, clock.Now()); err != nil || n > 0 {
		if err != nil {
			return err
		}
		if _, err := rt.engine.Reconcile(ctx); err != nil {
			return fmt.Errorf("demo: simulated hour: %w", err)
		}
	}
	if _, err := rt.engine.SweepJourneys(ctx); err != nil {
		return fmt.Errorf("demo: simulated hour: %w", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := rt.st.CountDue(ctx, clock.Now())
		if err != nil || n == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return errors.New("demo: the simulated hour's messages were not sent within a minute")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func simHeader(c *campaigns.Campaign) string {
	cols := []string{"DAY", "DATE", "ENTERED"}
	for _, s := range c.Journey.Steps {
		if shown(s.Kind) {
			cols = append(cols, strings.ToUpper(s.ID))
		}
	}
	return strings.Join(append(cols, "LEFT"), "\t") + "\t"
}

func simRow(day int, at time.Time, j *worker.JourneyReport) string {
	cols := []string{fmt.Sprint(day), at.Format("2006-01-02"), fmt.Sprint(j.Entered)}
	for _, s := range j.Steps {
		if !shown(campaigns.StepKind(s.Kind)) {
			continue
		}
		n := s.Waiting
		if s.Kind == string(campaigns.StepSend) {
			n = s.Sent
		}
		cols = append(cols, fmt.Sprint(n))
	}
	var left []string
	for reason, n := range j.Exits {
		left = append(left, fmt.Sprintf("%s %d", reason, n))
	}
	sort.Strings(left)
	if len(left) == 0 {
		left = []string{"-"}
	}
	return strings.Join(append(cols, strings.Join(left, ", ")), "\t") + "\t"
}

// shown reports whether the day's table has a column for a step of kind k:
// the sends and the waits (a branch or a split holds nobody).
func shown(k campaigns.StepKind) bool {
	return k == campaigns.StepSend || k == campaigns.StepWait || k == campaigns.StepWaitFor
}

// simShop is the shop of the simulation: it posts purchases to the events
// API's handler, signed with a secret of its own.
type simShop struct {
	rt     *runtime
	secret string
	hook   http.Handler
	n      int
}

func newSimShop(rt *runtime, now func() time.Time) (*simShop, error) {
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	h, err := triggers.NewWebhook(triggers.WebhookOptions{Secrets: secret, Store: rt.st, Reactor: rt.queue,
		Logger: slog.New(slog.DiscardHandler), Now: now})
	if err != nil {
		return nil, err
	}
	return &simShop{rt: rt, secret: secret, hook: h}, nil
}

// purchases posts a purchase for a stable 3% of the customers inside the
// journey at now (its holdout too: the lift compares the two), and waits
// for their reactions.
func (s *simShop) purchases(ctx context.Context, journey string, now time.Time) error {
	states, err := s.rt.st.JourneyStates(ctx, journey)
	if err != nil {
		return err
	}
	var ids []int64
	for _, st := range states {
		if st.Status != store.JourneyDone && (st.CustomerID*2654435761+now.Unix()/86400)%100 < 3 {
			ids = append(ids, st.CustomerID)
		}
	}
	custs, err := s.rt.st.CustomersByIDs(ctx, ids)
	if err != nil {
		return err
	}
	var posted []string
	for _, id := range ids {
		c := custs[id]
		if c == nil {
			continue
		}
		eventID := fmt.Sprintf("sim-%d-%d", id, now.Unix())
		body := fmt.Sprintf(`{"type": "purchase", "customer": %q, "time": %q, "properties": {"order_id": %q, "amount": 42}}`,
			c.ExternalID, now.Format(time.RFC3339), eventID)
		req, err := triggers.SignedRequest(ctx, s.secret, "http://demo"+triggers.PathEvents, eventID, now, []byte(body))
		if err != nil {
			return err
		}
		rec := httptest.NewRecorder()
		s.hook.ServeHTTP(rec, req)
		if rec.Code/100 != 2 {
			return fmt.Errorf("demo: simulated purchase: %d %s", rec.Code, rec.Body)
		}
		posted = append(posted, eventID)
		s.n++
	}
	return waitProcessed(ctx, s.rt.st, posted)
}

// waitProcessed waits until the reactions of the events ids have run.
func waitProcessed(ctx context.Context, st *store.Store, ids []string) error {
	deadline := time.Now().Add(time.Minute)
	for _, id := range ids {
		for {
			row, err := st.InboxEvent(ctx, id)
			if err != nil {
				return err
			}
			if row.Status != store.InboxReceived {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("demo: the reaction to simulated purchase %s did not run within a minute", id)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}
