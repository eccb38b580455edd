package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// MessageEraser removes copies of messages kept outside the database (the
// outbox's .eml files and sms.log lines), by delivery id.
type MessageEraser interface {
	EraseMessages(deliveryIDs []int64) (int, error)
}

// EraseTargets are the places besides the database where a customer's
// messages may be: the task queue (a retried send's error text can quote
// the address) and the outbox. Either may be nil.
type EraseTargets struct {
	Inspector *asynq.Inspector
	Outbox    MessageEraser
}

// ErasureReport is what an erasure removed.
type ErasureReport struct {
	*store.Erasure
	Tasks    int `json:"queue_tasks"`     // retried or archived send tasks of the customer, deleted
	Messages int `json:"outbox_messages"` // outbox copies removed
}

// Erase removes a customer's personal data (store.EraseCustomer), then the
// send tasks of their deliveries that carry an error text, and their
// messages in the outbox. Nothing personal is logged.
func Erase(ctx context.Context, st *store.Store, customerID int64, to EraseTargets) (*ErasureReport, error) {
	er, err := st.EraseCustomer(ctx, customerID)
	if err != nil {
		return nil, err
	}
	rep := &ErasureReport{Erasure: er}
	if to.Inspector != nil {
		if rep.Tasks, err = eraseTasks(to.Inspector, er.DeliveryIDs); err != nil {
			return rep, err
		}
	}
	if to.Outbox != nil {
		if rep.Messages, err = to.Outbox.EraseMessages(er.DeliveryIDs); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// eraseTasks deletes the retried and archived tasks of the deliver queue
// that name one of ids: those keep the last error text, which a provider
// may have written with the address in it. Waiting tasks carry only ids and
// find their rows cancelled.
func eraseTasks(insp *asynq.Inspector, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	mine := make(map[int64]bool, len(ids))
	for _, id := range ids {
		mine[id] = true
	}
	n := 0
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){insp.ListRetryTasks, insp.ListArchivedTasks} {
		for page := 1; ; page++ {
			tasks, err := list(QueueDeliver, asynq.Page(page), asynq.PageSize(500))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				return n, nil
			}
			if err != nil {
				return n, fmt.Errorf("erase queue tasks: %w", err)
			}
			for _, t := range tasks {
				if !namesAny(t, mine) {
					continue
				}
				if err := insp.DeleteTask(QueueDeliver, t.ID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
					return n, fmt.Errorf("erase queue task %s: %w", t.ID, err)
				}
				n++
			}
			if len(tasks) < 500 {
				break
			}
		}
	}
	return n, nil
}

func namesAny(t *asynq.TaskInfo, ids map[int64]bool) bool {
	var p struct {
		DeliveryID int64   `json:"delivery_id"`
		IDs        []int64 `json:"ids"`
	}
	if json.Unmarshal(t.Payload, &p) != nil {
		return false
	}
	if ids[p.DeliveryID] {
		return true
	}
	for _, id := range p.IDs {
		if ids[id] {
			return true
		}
	}
	return false
}

// Erase is the package's Erase with the engine's store and EraseTargets.
func (e *Engine) Erase(ctx context.Context, customerID int64) (*ErasureReport, error) {
	return Erase(ctx, e.st, customerID, e.opts.Erase)
}

// Export is store.ExportCustomer through the engine.
func (e *Engine) Export(ctx context.Context, customerID int64) (*store.Export, error) {
	return e.st.ExportCustomer(ctx, customerID)
}

// FindCustomer is store.FindCustomer: a customer named by id, external id,
// email or phone.
func (e *Engine) FindCustomer(ctx context.Context, ref string) (*store.Customer, error) {
	return e.st.FindCustomer(ctx, ref)
}

// SetConsent sets a consent flag on an operator's word (source "admin").
func (e *Engine) SetConsent(ctx context.Context, customerID int64, channel channels.Name, granted bool) error {
	return e.st.SetConsent(ctx, customerID, channel, granted, store.ConsentAdmin)
}

// Profile is store.Profile through the engine.
func (e *Engine) Profile(ctx context.Context, customerID int64) (*store.ProfileView, error) {
	return e.st.Profile(ctx, customerID)
}
