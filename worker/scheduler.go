package worker

import (
	"context"
	"errors"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// Scheduler fires campaigns: cron schedules at their ticks (in the campaign's
// zone), and per-customer daily triggers (birthday, inactivity, churn risk)
// every DailyEvery, so each customer's local time of day is met wherever they
// live. Several schedulers may run at once: a firing's run key names it (a
// schedule's wall-clock time in its zone, a daily trigger's UTC tick), its
// task id and its campaign_runs row are unique, so a firing runs once.
//
// Missed ticks (every scheduler down) are caught up once when a scheduler
// comes back, if they are younger than CatchUp; older ones are skipped (the
// latest firing within CatchUp is the one caught up). Daily triggers need no catch-up: the next evaluation finds the
// customers still due (the occurrence key, not the tick, prevents repeats).
type Scheduler struct {
	Engine     *Engine
	DailyEvery time.Duration // default 15 min (UTC+5:45 needs quarter hours)
	CatchUp    time.Duration // default 1 h
	// Clock, when set, is the scheduler's own clock instead of the
	// engine's: a simulated one (drills run a day of ticks in minutes).
	// The workers that run the firings keep the wall clock.
	Clock *SimClock
	// Ticked, when set, is called by Run after each tick with the instant
	// it ticked at (on its clock), how many firings it enqueued and the
	// tick's error: the signal a test waits on instead of sleeping.
	Ticked func(at time.Time, fired int, err error)
}

// Tick enqueues every firing due at now and returns how many it enqueued.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (int, error) {
	daily := s.DailyEvery
	if daily <= 0 {
		daily = defaultDailyEvery
	}
	catchUp := s.CatchUp
	if catchUp <= 0 {
		catchUp = time.Hour
	}
	if err := s.tickInsights(ctx, now); err != nil {
		return 0, err
	}
	if err := s.tickEventLog(ctx, now); err != nil {
		return 0, err
	}
	n := 0
	for _, c := range s.Engine.Campaigns() {
		if c.Status == campaigns.StatusPaused {
			continue
		}
		key, fire, seen := firing(c, now, daily, catchUp)
		if key == "" {
			continue
		}
		_, started, err := s.Engine.fireOnce(ctx, c.ID, key, seen, fire)
		switch {
		case errors.Is(err, ErrPaused):
			continue
		case err != nil:
			return n, err
		case started:
			n++
		}
	}
	return n, nil
}

// firing returns the run key and instant of campaign c's firing due at now
// (key "" when none), and the key the same firing had before schedule keys
// named the wall clock ("" when it has no other).
//
// A schedule's key is its wall-clock time in the campaign's zone
// (campaigns.Firing.Key): a wall time repeated by a DST fall-back fires once,
// at its first instant, whoever ticks and whenever. Daily triggers are keyed
// by their UTC tick: the ledger's occurrence key, not the run, keeps those
// once per customer.
func firing(c *campaigns.Campaign, now time.Time, daily, catchUp time.Duration) (key string, fire time.Time, legacy string) {
	switch {
	case c.Trigger.Kind == campaigns.TriggerSchedule:
		f, ok := c.Trigger.Schedule.Latest(now, catchUp)
		if !ok {
			return "", time.Time{}, ""
		}
		return f.Key(), f.At, f.LegacyKey()
	case campaigns.Daily(c):
		fire = now.Truncate(daily)
		return fire.UTC().Format("2006-01-02T15:04Z"), fire, ""
	}
	return "", time.Time{}, "" // event triggers fire from events
}

// existingRun returns the run of the run key, or of the legacy key the same
// firing was run under before an upgrade, or store.ErrNotFound. The scheduler
// and forced runs (Fire) both ask it before firing.
func (e *Engine) existingRun(ctx context.Context, campaignID, key, legacy string) (*store.Run, error) {
	for _, k := range []string{key, legacy} {
		if k == "" {
			continue
		}
		run, err := e.st.RunByOccurrence(ctx, campaignID, k)
		if !errors.Is(err, store.ErrNotFound) {
			return run, err
		}
	}
	return nil, store.ErrNotFound
}

// fireOnce enqueues the run of one firing unless the firing has a run
// (under its key, or the legacy key it had before an upgrade): then it returns
// that run and started false. A paused campaign is ErrPaused. The scheduler
// and forced runs (Fire) both fire through it.
func (e *Engine) fireOnce(ctx context.Context, campaignID, key, legacy string, at time.Time) (run *store.Run, started bool, err error) {
	run, err = e.existingRun(ctx, campaignID, key, legacy)
	if !errors.Is(err, store.ErrNotFound) {
		return run, false, err
	}
	if err := e.Enqueue(ctx, campaignID, key, at); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

// Run ticks at the start of every minute (of its clock) until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	now, speed := s.Engine.now, 1.0
	if s.Clock != nil {
		now, speed = s.Clock.Now, s.Clock.Speed
	}
	for {
		at := now()
		fired, err := s.Tick(ctx, at)
		if err != nil && ctx.Err() == nil {
			s.Engine.log().Error("scheduler tick", "err", err)
		}
		if s.Ticked != nil {
			s.Ticked(at, fired, err)
		}
		at = now()
		wait := time.Duration(float64(at.Truncate(time.Minute).Add(time.Minute).Sub(at)) / speed)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
