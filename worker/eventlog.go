package worker

import (
	"context"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/store"
)

// TypeEventLog keeps the events log and the deliveries ledger in shape once
// an hour: the coming months' partitions created ahead (PostgreSQL), events
// past TIDINGS_EVENT_RETENTION deleted (store.MaintainEvents), occurrences
// past TIDINGS_LEDGER_RETENTION forgotten (store.MaintainLedger).
const TypeEventLog = "events:maintain"

// EventLogPayload names the hour of a maintenance.
type EventLogPayload struct {
	Hour string `json:"hour"`
}

// EventLog enqueues the maintenance of one UTC hour (once, whoever enqueues).
func (q *Enqueuer) EventLog(ctx context.Context, hour string) error {
	return q.enqueue(ctx, TypeEventLog, "events-maintain:"+hour, QueuePlan, EventLogPayload{Hour: hour},
		asynq.MaxRetry(3), asynq.Timeout(30*time.Minute), asynq.Retention(2*time.Hour))
}

// tickEventLog enqueues the current hour's maintenance.
func (s *Scheduler) tickEventLog(ctx context.Context, now time.Time) error {
	return s.Engine.q.EventLog(ctx, now.UTC().Format("2006-01-02T15"))
}

func (e *Engine) handleEventLog(ctx context.Context, t *asynq.Task) error {
	if _, err := decode[EventLogPayload](t); err != nil {
		return err
	}
	if _, err := e.MaintainEventLog(ctx); err != nil {
		return err
	}
	_, err := e.MaintainLedger(ctx)
	return err
}

// MaintainLedger runs the ledger's maintenance now, with the engine's
// retention (Options.LedgerRetention; 0 creates partitions and forgets
// nothing).
func (e *Engine) MaintainLedger(ctx context.Context) (store.LedgerMaintenance, error) {
	m, err := e.st.MaintainLedger(ctx, e.now(), e.opts.LedgerRetention)
	if err != nil {
		return m, err
	}
	e.log().Info("ledger maintained", "partitions_created", m.Created, "partitions_dropped", m.Dropped,
		"deliveries_deleted", m.Deleted, "retention", e.opts.LedgerRetention.String())
	return m, nil
}

// MaintainEventLog runs the events log's maintenance now, with the
// engine's retention (Options.EventRetention).
func (e *Engine) MaintainEventLog(ctx context.Context) (store.EventMaintenance, error) {
	keep := e.opts.EventRetention
	if keep <= 0 {
		keep = store.DefaultEventRetention
	}
	m, err := e.st.MaintainEvents(ctx, e.now(), keep)
	if err != nil {
		return m, err
	}
	e.log().Info("events log maintained", "partitions_created", m.Created, "partitions_dropped", m.Dropped,
		"events_deleted", m.Deleted, "retention", keep.String())
	return m, nil
}
