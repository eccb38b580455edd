package worker

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// defaultDailyEvery is how often daily triggers are evaluated when the
// scheduler is not told otherwise (UTC+5:45 needs quarter hours).
const defaultDailyEvery = 15 * time.Minute

// CurrentOccurrence returns the run key and firing time of a campaign's
// current occurrence: for a cron schedule its latest firing at or before now
// (however long ago), for a daily trigger (birthday, inactivity, churn risk)
// the scheduler's evaluation slot holding now (the default 15-minute slot). It
// is the scheduler's own firing and key, so a forced run of "the current
// occurrence" and the scheduler never make two runs of one firing. Event
// campaigns, and schedules that never fired, have none: "" and the zero time.
func (e *Engine) CurrentOccurrence(c *campaigns.Campaign, now time.Time) (key string, at time.Time) {
	key, at, _ = currentFiring(c, now)
	return key, at
}

// firingLookback widens the search for a schedule's latest firing step by
// step, so an every-minute cron costs an hour of firings and a yearly one
// (or 29 February) a handful.
var firingLookback = []time.Duration{time.Hour, 24 * time.Hour, 8 * 24 * time.Hour, 32 * 24 * time.Hour,
	367 * 24 * time.Hour, 8 * 366 * 24 * time.Hour}

// currentFiring is the scheduler's firing (key, instant, legacy key) with no
// catch-up limit: the latest there is.
func currentFiring(c *campaigns.Campaign, now time.Time) (key string, at time.Time, legacy string) {
	for _, w := range firingLookback {
		if key, at, legacy = firing(c, now, defaultDailyEvery, w); key != "" {
			break
		}
	}
	return key, at, legacy
}

// What a forced run found or did (Firing.Status).
const (
	FiringStarted        = "started"         // the run is on the queue now
	FiringAlreadyRan     = "already ran"     // the occurrence ran before: nothing is sent again
	FiringAlreadyRunning = "already running" // the occurrence is being run: nothing more is started
)

// Firing answers a forced run ("run now" from the admin API or the demo): the
// occurrence it names, and whether this call started it or found it already
// run, in which case nothing is sent again.
type Firing struct {
	Campaign     string     `json:"campaign"`
	Occurrence   string     `json:"occurrence"`
	ScheduledFor time.Time  `json:"scheduled_for"`
	Status       string     `json:"status"`        // FiringStarted, FiringAlreadyRan or FiringAlreadyRunning
	Run          *RunStatus `json:"run,omitempty"` // the earlier run, when there is one
}

// ErrPaused refuses a new run of a campaign an operator paused.
var ErrPaused = errors.New("campaign is paused by an operator; resume it first")

// OccurrenceError is a forced run that cannot be placed: a malformed
// occurrence name, or no current occurrence to default to. Callers answer it
// as bad input (HTTP 400), with its message.
type OccurrenceError struct{ Msg string }

func (e *OccurrenceError) Error() string { return e.Msg }

// occurrenceName is what an explicit occurrence may look like: short, and
// safe in a task id, a log line and a URL.
var occurrenceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// ValidOccurrence checks an occurrence name given by hand (an extra send named
// on purpose, e.g. "manual-2026-12-03-promo").
func ValidOccurrence(name string) error {
	if occurrenceName.MatchString(name) {
		return nil
	}
	return &OccurrenceError{Msg: fmt.Sprintf("occurrence %q: use 1 to 64 letters, digits, '.', '_', ':' or '-', "+
		"starting with a letter or digit, e.g. \"manual-2026-12-03-promo\"", name)}
}

// Fire runs one occurrence of a campaign by hand. With occurrence "" it is
// the campaign's current one (CurrentOccurrence: the firing the scheduler
// runs, or has run); a name fires that occurrence, which is how an extra send
// is asked for on purpose. An occurrence that has a run already is not run
// again: the answer says so and carries that run. The same call twice is one
// run. A campaign that is not loaded is store.ErrNotFound; a paused one
// ErrPaused.
func (e *Engine) Fire(ctx context.Context, campaignID, occurrence string) (Firing, error) {
	c, ok := e.Campaign(campaignID)
	if !ok {
		return Firing{}, fmt.Errorf("no campaign %q is loaded: %w", campaignID, store.ErrNotFound)
	}
	if c.Trigger.Kind == campaigns.TriggerAPI {
		return Firing{Campaign: c.ID}, &OccurrenceError{Msg: fmt.Sprintf("campaign %q (api trigger) sends one message per "+
			"request of POST /v1/send; it is never run for an audience", c.ID)}
	}
	now := e.now()
	f := Firing{Campaign: c.ID, Occurrence: occurrence, ScheduledFor: now}
	legacy := ""
	if occurrence == "" {
		f.Occurrence, f.ScheduledFor, legacy = currentFiring(c, now)
		if f.Occurrence == "" {
			return f, &OccurrenceError{Msg: fmt.Sprintf("campaign %q (%s trigger) has no current occurrence to run; "+
				"name one to run it by hand, e.g. \"manual-%s\"", c.ID, c.Trigger.Kind, now.Format("2006-01-02"))}
		}
		f.ScheduledFor = f.ScheduledFor.UTC()
	} else if err := ValidOccurrence(occurrence); err != nil {
		return f, err
	}
	run, started, err := e.fireOnce(ctx, c.ID, f.Occurrence, legacy, f.ScheduledFor)
	switch {
	case err != nil:
		return f, err
	case started:
		f.Status = FiringStarted
	default:
		f.Run, f.Status = runStatus(run), FiringAlreadyRan
		if run.Status != store.RunDone {
			f.Status = FiringAlreadyRunning
		}
	}
	return f, nil
}

// runStatus is a run as the admin API shows it.
func runStatus(r *store.Run) *RunStatus {
	return &RunStatus{Occurrence: r.Occurrence, Status: r.Status, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
}
