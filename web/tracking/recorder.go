package tracking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
)

// Event types the recorder writes to the events log.
const (
	EventClicked = "email_clicked" // each human click of a tracked link
	EventOpened  = "email_opened"  // a delivery's first human open
)

// Store is what the recorder writes through; *store.Store satisfies it.
type Store interface {
	RecordEngagement(ctx context.Context, hits []store.EngagementHits, now time.Time) (map[int64]bool, error)
	ExternalIDsOf(ctx context.Context, ids []int64) (map[int64]string, error)
	AcceptEvents(ctx context.Context, evs []store.InboxEvent) ([]store.Accepted, error)
}

var _ Store = (*store.Store)(nil)

// Reactor enqueues the reaction to a stored event (worker.Enqueuer): event
// campaigns, exit_on, journeys waiting for it.
type Reactor = triggers.Reactor

// Hit is one fetch of a tracked URL.
type Hit struct {
	Link Link
	At   time.Time
	// Machine says why the fetch is a machine's; "" for a person's.
	Machine string
}

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	Store   Store
	Reactor Reactor // nil: events are stored, no reaction is enqueued
	Logger  *slog.Logger
	// Buffer is how many hits wait for their write (default 65,536): the
	// redirect does not wait for the database while there is room.
	Buffer int
	// Wait is how long Record waits for room in a full queue before it
	// drops the hit (default 1 s): clicks arriving faster than they are
	// written for longer than the queue lasts slow the redirects down to
	// the write rate instead of being lost.
	Wait time.Duration
	// Batch is the most hits one write takes (default 2,000); Every is the
	// longest a hit waits for its write (default 200 ms).
	Batch int
	Every time.Duration
	Now   func() time.Time
}

// Recorder writes hits in batches, off the request path: a redirect
// answers as soon as its hit is queued. A batch becomes one transaction of
// per-delivery counts (store.RecordEngagement) and one of events (the human
// clicks and first opens, through the events API's store path, so rules,
// journeys and event campaigns see them). A write that fails is retried
// with the next batch; Close writes everything queued before it returns.
// What is lost: hits queued when the process is killed (not stopped), and
// hits dropped while the queue is full (Dropped counts them, a warning says
// so).
type Recorder struct {
	opts    RecorderOptions
	in      chan Hit
	flushes chan chan error
	mu      sync.RWMutex
	closed  bool
	done    chan struct{}
	dropped atomic.Int64
	nonce   string
	seq     atomic.Int64
	// held are written hits' events not stored yet (a failed events write).
	held []store.InboxEvent
	// waiting are hits whose engagement write failed, kept for the next one.
	waiting []Hit
}

// writeTimeout bounds one write, so a database that hangs delays the
// writes (the hits wait, then retry) instead of stopping them.
const writeTimeout = 30 * time.Second

// NewRecorder starts a recorder; Close stops it.
func NewRecorder(o RecorderOptions) *Recorder {
	if o.Buffer <= 0 {
		o.Buffer = 65536
	}
	if o.Batch <= 0 {
		o.Batch = 2000
	}
	if o.Every <= 0 {
		o.Every = 200 * time.Millisecond
	}
	if o.Wait <= 0 {
		o.Wait = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	b := make([]byte, 4)
	rand.Read(b)
	r := &Recorder{opts: o, in: make(chan Hit, o.Buffer), flushes: make(chan chan error), done: make(chan struct{}),
		nonce: hex.EncodeToString(b)}
	go r.loop()
	return r
}

// Record queues a hit, waiting at most RecorderOptions.Wait when the queue
// is full; it reports false when the hit was dropped (the queue stayed
// full, or the recorder closed).
func (r *Recorder) Record(h Hit) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.dropped.Add(1)
		return false
	}
	select {
	case r.in <- h:
		return true
	default:
	}
	t := time.NewTimer(r.opts.Wait)
	defer t.Stop()
	select {
	case r.in <- h:
		return true
	case <-t.C:
		if r.dropped.Add(1)%1000 == 1 {
			r.opts.Logger.Warn("tracking: hits dropped, the write queue stayed full", "dropped", r.dropped.Load())
		}
		return false
	}
}

// Dropped is how many hits Record dropped.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Flush writes every hit queued before it and returns the write's error.
func (r *Recorder) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case r.flushes <- reply:
	case <-r.done:
		return errors.New("tracking: recorder closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops taking hits and writes the queued ones, retrying a failed
// write until ctx ends.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.in)
	}
	r.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("tracking: close: %w", ctx.Err())
	}
	for r.pending() {
		if err := r.write(ctx, nil); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("tracking: close with %d hits and %d events unwritten: %w", len(r.waiting), len(r.held), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func (r *Recorder) pending() bool { return len(r.waiting) > 0 || len(r.held) > 0 }

func (r *Recorder) loop() {
	defer close(r.done)
	tick := time.NewTicker(r.opts.Every)
	defer tick.Stop()
	batch := make([]Hit, 0, r.opts.Batch)
	ctx := context.Background()
	for {
		select {
		case h, ok := <-r.in:
			if !ok {
				r.write(ctx, batch)
				return
			}
			batch = append(batch, h)
			if len(batch) >= r.opts.Batch {
				r.write(ctx, batch)
				batch = batch[:0]
			}
		case <-tick.C:
			if len(batch) > 0 || r.pending() {
				r.write(ctx, batch)
				batch = batch[:0]
			}
		case reply := <-r.flushes:
			for n := len(r.in); n > 0; n-- {
				batch = append(batch, <-r.in)
			}
			reply <- r.write(ctx, batch)
			batch = batch[:0]
		}
	}
}

// write stores hits (and those a failed write left), then the events due.
func (r *Recorder) write(ctx context.Context, hits []Hit) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	all := append(r.waiting, hits...)
	r.waiting = nil
	if len(all) > 0 {
		rows, honeypot := aggregate(all)
		first, err := r.opts.Store.RecordEngagement(ctx, rows, r.opts.Now())
		if err != nil {
			r.waiting = r.keep(all)
			r.opts.Logger.Error("tracking: opens and clicks not written; retrying with the next batch", "hits", len(all), "err", err)
			return err
		}
		evs, err := r.events(ctx, all, first, honeypot)
		if err != nil {
			r.opts.Logger.Error("tracking: events of clicks not built", "err", err)
		}
		r.held = append(r.held, evs...)
	}
	if len(r.held) == 0 {
		return nil
	}
	out, err := r.opts.Store.AcceptEvents(ctx, r.held)
	if err != nil {
		if len(r.held) > r.opts.Buffer {
			r.opts.Logger.Error("tracking: click events dropped", "events", len(r.held)-r.opts.Buffer)
			r.held = r.held[len(r.held)-r.opts.Buffer:]
		}
		r.opts.Logger.Error("tracking: click events not stored; retrying with the next batch", "events", len(r.held), "err", err)
		return err
	}
	r.held = nil
	r.react(ctx, out)
	return nil
}

// keep is what a failed write keeps for the next: at most Buffer hits.
func (r *Recorder) keep(hits []Hit) []Hit {
	if len(hits) > r.opts.Buffer {
		r.opts.Logger.Error("tracking: hits dropped after failed writes", "hits", len(hits)-r.opts.Buffer)
		hits = hits[len(hits)-r.opts.Buffer:]
	}
	return append([]Hit(nil), hits...)
}

func (r *Recorder) react(ctx context.Context, out []store.Accepted) {
	if r.opts.Reactor == nil {
		return
	}
	// A batch's reactions go out on several connections at once: one
	// round trip each, in turn, made Redis the writer's limit.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(reactors, len(out)) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(out)); i = next.Add(1) - 1 {
				a := out[i]
				if a.Duplicate {
					continue
				}
				if err := r.opts.Reactor.EnqueueEvent(ctx, a.EventID); err != nil {
					r.opts.Logger.Warn("tracking: reaction not enqueued; events replay will process it", "event", a.EventID, "err", err)
				}
			}
		})
	}
	wg.Wait()
}

// reactors is how many reactions one batch enqueues at once.
const reactors = 8

// aggregate sums hits per delivery; honeypot lists the deliveries whose
// honeypot link was followed.
func aggregate(hits []Hit) ([]store.EngagementHits, map[int64]bool) {
	byID := map[int64]*store.EngagementHits{}
	var order []int64
	honeypot := map[int64]bool{}
	first := func(cur *time.Time, at time.Time) {
		if cur.IsZero() || at.Before(*cur) {
			*cur = at
		}
	}
	for _, h := range hits {
		e := byID[h.Link.DeliveryID]
		if e == nil {
			e = &store.EngagementHits{DeliveryID: h.Link.DeliveryID}
			byID[h.Link.DeliveryID] = e
			order = append(order, h.Link.DeliveryID)
		}
		switch {
		case h.Link.Kind == KindHoneypot:
			first(&e.Honeypot, h.At)
			honeypot[e.DeliveryID] = true
		case h.Link.Kind == KindOpen && h.Machine != "":
			e.MachineOpens++
		case h.Link.Kind == KindOpen:
			e.Opens++
			first(&e.FirstOpen, h.At)
		case h.Machine != "":
			e.MachineClicks++
		default:
			e.Clicks++
			first(&e.FirstClick, h.At)
		}
	}
	out := make([]store.EngagementHits, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out, honeypot
}

// events are the events log rows of written hits: every human click (not
// of a delivery whose honeypot was followed in the same batch) and the
// first human open of the deliveries in first.
func (r *Recorder) events(ctx context.Context, hits []Hit, first, honeypot map[int64]bool) ([]store.InboxEvent, error) {
	var due []Hit
	opened := map[int64]bool{}
	for _, h := range hits {
		switch {
		case h.Machine != "" || honeypot[h.Link.DeliveryID]:
		case h.Link.Kind == KindClick:
			due = append(due, h)
		case h.Link.Kind == KindOpen && first[h.Link.DeliveryID] && !opened[h.Link.DeliveryID]:
			opened[h.Link.DeliveryID] = true
			due = append(due, h)
		}
	}
	if len(due) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(due))
	for _, h := range due {
		ids = append(ids, h.Link.CustomerID)
	}
	ext, err := r.opts.Store.ExternalIDsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]store.InboxEvent, 0, len(due))
	for _, h := range due {
		customer, ok := ext[h.Link.CustomerID]
		if !ok {
			continue // erased or deleted since the send
		}
		ev, err := r.event(h, customer)
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// event is the events log row of one human hit, with the payload the
// reaction reads (an /v1/events body).
func (r *Recorder) event(h Hit, customer string) (store.InboxEvent, error) {
	typ, props := EventOpened, map[string]any{"campaign": h.Link.Campaign, "delivery": h.Link.DeliveryID}
	if h.Link.Kind == KindClick {
		typ = EventClicked
		props["url"], props["link"] = h.Link.URL, h.Link.Index
	}
	pj, err := json.Marshal(props)
	if err != nil {
		return store.InboxEvent{}, err
	}
	at := h.At.UTC()
	id := fmt.Sprintf("%s:%d:%s-%d", typ, h.Link.DeliveryID, r.nonce, r.seq.Add(1))
	payload, err := json.Marshal(triggers.AnyEvent{ID: id, Type: typ, Customer: customer, Time: at, Properties: pj})
	if err != nil {
		return store.InboxEvent{}, err
	}
	return store.InboxEvent{EventID: id, EventType: typ, ReceivedAt: at, Payload: payload, ExternalID: customer,
		Event: &store.EventInput{Type: typ, OccurredAt: at, Properties: pj}}, nil
}
