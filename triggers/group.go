package triggers

import (
	"context"
	"sync"
	"time"

	"github.com/tidings-crm/tidings/store"
)

// Group commit: a shop posting events one by one from many connections costs
// one database transaction (and one durable commit) per event, and the
// commits, not the handler, are what limit ingest. Requests that arrive while
// the database is busy with earlier ones wait and then go together in ONE
// transaction (the batch endpoint's AcceptEvents, which already keeps the
// first of repeated event ids). Nobody waits on a timer: a request that finds
// no lane running commits at once, alone; while one runs, requests queue, and
// the next free lane takes all that queued, up to groupMaxEvents. Each
// request is still answered only after the commit that holds its events, so
// "persist before acknowledge" stands.
const (
	// groupLanes is how many group transactions may run at once.
	groupLanes = 2
	// groupSpill is how many events must be waiting before a lane beyond the
	// first opens: one lane makes the largest groups, so the fewest
	// statements and commits per event, and a second one serves the queue
	// only when it builds up (a burst, or a group stuck on a lock). Measured
	// on 2 cores (busy, 20 s, 32 clients, after the two-statement store):
	// CPU per event 0.73-0.76 ms with two lanes opening freely, 0.59-0.62 ms
	// with one; events/s within noise of each other. Before that store,
	// lanes 1/2/4/8 gave 1,605/1,685/1,659/1,363 events/s (quiet, 60 s).
	groupSpill = 32
	// groupMaxEvents caps one group transaction.
	groupMaxEvents = 64
	// groupTimeout bounds a group's transaction: it serves several clients,
	// so no single client's disconnect may cancel it.
	groupTimeout = 30 * time.Second
)

// grouper gathers concurrent AcceptEvents calls into shared transactions.
type grouper struct {
	store EventStore

	mu      sync.Mutex
	active  int             // lanes running a group
	queue   []*groupRequest // waiting, oldest first
	waiting int             // events in queue
}

type groupRequest struct {
	ctx  context.Context
	evs  []store.InboxEvent
	out  []store.Accepted
	err  error
	turn chan bool // true: lead the next group; false: done, out/err are set
}

// accept stores evs in a transaction shared with whichever requests are
// waiting, and returns what happened to each of evs (like AcceptEvents).
func (g *grouper) accept(ctx context.Context, evs []store.InboxEvent) ([]store.Accepted, error) {
	r := &groupRequest{ctx: ctx, evs: evs, turn: make(chan bool, 1)}
	g.mu.Lock()
	lead := g.active == 0 || (g.active < groupLanes && g.waiting+len(evs) >= groupSpill)
	if lead {
		g.active++
	} else {
		g.queue = append(g.queue, r)
		g.waiting += len(evs)
	}
	g.mu.Unlock()
	// A waiting request does not give up when its client leaves: the lane
	// may be handed to it, and its events are stored all the same (a retry
	// then gets the first answer). The wait is bounded by the groups ahead.
	if !lead && !<-r.turn {
		return r.out, r.err
	}
	g.lead(r)
	return r.out, r.err
}

// lead commits own plus the queued requests (up to the cap) as one group,
// then hands the lane to the oldest request still waiting, if any.
func (g *grouper) lead(own *groupRequest) {
	group := []*groupRequest{own}
	n := len(own.evs)
	g.mu.Lock()
	for len(g.queue) > 0 && n+len(g.queue[0].evs) <= groupMaxEvents {
		n += len(g.queue[0].evs)
		g.waiting -= len(g.queue[0].evs)
		group = append(group, g.queue[0])
		g.queue = g.queue[1:]
	}
	g.mu.Unlock()

	g.commit(group)
	for _, r := range group[1:] {
		r.turn <- false
	}

	g.mu.Lock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		g.queue = g.queue[1:]
		g.waiting -= len(next.evs)
		g.mu.Unlock()
		next.turn <- true // the lane passes on; active stays the same
		return
	}
	g.active--
	g.mu.Unlock()
}

// commit stores a group in one transaction. When that fails, each request is
// tried alone, so one request's trouble never fails the others.
func (g *grouper) commit(group []*groupRequest) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(group[0].ctx), groupTimeout)
	defer cancel()
	if len(group) > 1 {
		var all []store.InboxEvent
		for _, r := range group {
			all = append(all, r.evs...)
		}
		if out, err := g.store.AcceptEvents(ctx, all); err == nil {
			for _, r := range group {
				r.out, out = out[:len(r.evs):len(r.evs)], out[len(r.evs):]
			}
			return
		}
	}
	for _, r := range group {
		r.out, r.err = g.store.AcceptEvents(ctx, r.evs)
	}
}
