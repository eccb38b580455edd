package worker

import (
	"context"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/triggers"
)

// Scheduler fires campaigns: cron schedules at their ticks (in the campaign's
// zone), and per-customer daily triggers (birthday, inactivity, churn risk)
// every DailyEvery, so each customer's local time of day is met wherever they
// live. Several schedulers may run at once: a firing's run key is the tick,
// its task id and its campaign_runs row are unique, so a tick runs once.
//
// Missed ticks (every scheduler down) are caught up once when a scheduler
// comes back, if they are younger than CatchUp; older ones are skipped and
// logged. Daily triggers need no catch-up: the next evaluation finds the
// customers still due (the occurrence key, not the tick, prevents repeats).
type Scheduler struct {
	Engine     *Engine
	DailyEvery time.Duration // default 15 min (UTC+5:45 needs quarter hours)
	CatchUp    time.Duration // default 1 h
	// Clock, when set, is the scheduler's own clock instead of the
	// engine's: a simulated one (drills run a day of ticks in minutes).
	// The workers that run the firings keep the wall clock.
	Clock *SimClock
}

// Tick enqueues every firing due at now and returns how many it enqueued.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (int, error) {
	daily := s.DailyEvery
	if daily <= 0 {
		daily = 15 * time.Minute
	}
	catchUp := s.CatchUp
	if catchUp <= 0 {
		catchUp = time.Hour
	}
	if err := s.tickInsights(ctx, now); err != nil {
		return 0, err
	}
	n := 0
	for _, c := range s.Engine.Campaigns() {
		if c.Status == campaigns.StatusPaused {
			continue
		}
		if paused, err := s.Engine.Paused(ctx, c.ID); err != nil || paused {
			if err != nil {
				return n, err
			}
			continue
		}
		var fire time.Time
		switch {
		case c.Trigger.Kind == campaigns.TriggerSchedule:
			fire = lastFiring(c.Trigger.Schedule, now, catchUp)
		case triggers.Daily(c):
			fire = now.Truncate(daily)
		default:
			continue // event triggers fire from events
		}
		if fire.IsZero() {
			continue
		}
		key := fire.UTC().Format("2006-01-02T15:04Z")
		exists, err := s.Engine.st.RunExists(ctx, c.ID, key)
		if err != nil {
			return n, err
		}
		if exists {
			continue
		}
		if err := s.Engine.q.Run(ctx, RunPayload{Campaign: c.ID, Occurrence: key, ScheduledFor: fire.UTC()}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// lastFiring returns the latest firing of a cron schedule in (now-window, now],
// or zero.
func lastFiring(s *campaigns.ScheduleTrigger, now time.Time, window time.Duration) time.Time {
	var last time.Time
	for t := s.Next(now.Add(-window)); !t.After(now); t = s.Next(t) {
		last = t
	}
	return last
}

// Run ticks at the start of every minute (of its clock) until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	now, speed := s.Engine.now, 1.0
	if s.Clock != nil {
		now, speed = s.Clock.Now, s.Clock.Speed
	}
	for {
		if _, err := s.Tick(ctx, now()); err != nil && ctx.Err() == nil {
			s.Engine.opts.Logger.Error("scheduler tick", "err", err)
		}
		at := now()
		wait := time.Duration(float64(at.Truncate(time.Minute).Add(time.Minute).Sub(at)) / speed)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
