package worker

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
)

// TypeInsights refreshes customer intelligence (RFM, lifecycle, P(alive),
// CLV) for every customer, once a day.
const TypeInsights = "insights:refresh"

// InsightsPayload names the day of a refresh.
type InsightsPayload struct {
	Day string `json:"day"`
}

// Insights enqueues the refresh of day (one task per day whoever enqueues).
func (q *Enqueuer) Insights(ctx context.Context, day string) error {
	// Retention keeps the finished task, so its id blocks the rest of the
	// day's ticks from refreshing again.
	return q.enqueue(ctx, TypeInsights, "insights:"+day, QueuePlan, InsightsPayload{Day: day}, asynq.MaxRetry(3),
		asynq.Timeout(30*time.Minute), asynq.Retention(25*time.Hour))
}

func (e *Engine) handleInsights(ctx context.Context, t *asynq.Task) error {
	p, err := decode[InsightsPayload](t)
	if err != nil {
		return err
	}
	opts := e.opts.Insights
	opts.Log = e.opts.Logger.With("day", p.Day)
	_, err = e.refreshAndReact(ctx, e.now(), opts)
	return err
}

// refreshHour is when (UTC) the scheduler refreshes insights each day, before
// the morning's daily triggers read them.
const refreshHour = 3

// tickInsights enqueues the day's refresh once its hour has come.
func (s *Scheduler) tickInsights(ctx context.Context, now time.Time) error {
	if now.UTC().Hour() < refreshHour {
		return nil
	}
	return s.Engine.enqueueInsights(ctx, now.UTC().Format("2006-01-02"))
}
