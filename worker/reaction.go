package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
)

// reaction is a stored event as its reaction reads it.
type reaction struct {
	typ, customer string
	at            time.Time
	// key is the occurrence key of the messages it triggers: a purchase's
	// order id (the first round's), else the event id.
	key     string
	orderID string // a purchase's
	rules   rules.Event
}

// reactionOf decodes an inbox row: a purchase as /v1/events/purchase
// stores it, any other type as /v1/events does.
func reactionOf(row *store.InboxRow) (*reaction, error) {
	if row.EventType == "" || row.EventType == triggers.TypePurchase {
		ev, _, err := triggers.ParsePurchase(row.Payload, "")
		if err != nil {
			return nil, err
		}
		r := &reaction{typ: triggers.TypePurchase, customer: ev.Customer.ExternalID, at: ev.OccurredAt,
			key: ev.OrderID, orderID: ev.OrderID, rules: ev.RulesEvent()}
		amount, _ := ev.Amount.Float64()
		r.rules.Properties = map[string]any{"order_id": ev.OrderID, "amount": amount, "currency": ev.Currency,
			"quantity": float64(ev.Quantity)}
		return r, nil
	}
	var ev triggers.AnyEvent
	if err := json.Unmarshal(row.Payload, &ev); err != nil {
		return nil, err
	}
	if ev.Customer == "" || ev.Type == "" {
		return nil, fmt.Errorf("event %q has no type or customer", row.EventID)
	}
	props := map[string]any{}
	if len(ev.Properties) > 0 {
		if err := json.Unmarshal(ev.Properties, &props); err != nil {
			return nil, fmt.Errorf("properties: %w", err)
		}
	}
	return &reaction{typ: ev.Type, customer: ev.Customer, at: ev.Time, key: ev.ID,
		rules: rules.Event{Type: ev.Type, Properties: props, OccurredAt: ev.Time}}, nil
}

// historyUses converts the rules' uses for the store.
func historyUses(uses []rules.EventUse) []store.HistoryUse {
	out := make([]store.HistoryUse, len(uses))
	for i, u := range uses {
		out[i] = store.HistoryUse{Type: u.Type, Span: u.Span}
	}
	return out
}

// fillHistory sets h, sized for uses, to one customer's history (found
// false: no events).
func fillHistory(h *rules.History, uses []rules.EventUse, row store.History, found bool) {
	h.Reset(uses)
	if found {
		copy(h.Counts, row.Counts)
		copy(h.Last, row.Last)
	}
}

// giveHistory reads one customer's history for uses and gives it to env.
func (e *Engine) giveHistory(ctx context.Context, env *rules.Env, customerID int64, uses []rules.EventUse, now time.Time) error {
	return GiveHistory(ctx, e.st, env, customerID, uses, now)
}

// GiveHistory reads one customer's event history for uses (as of now) and
// gives it to env, for a rule evaluated outside an audience stream (an
// event's reaction, a preview).
func GiveHistory(ctx context.Context, st *store.Store, env *rules.Env, customerID int64, uses []rules.EventUse, now time.Time) error {
	h := &rules.History{}
	rules.SetHistory(env, h)
	if len(uses) == 0 {
		h.Reset(nil)
		return nil
	}
	m, err := st.EventHistoryOf(ctx, []int64{customerID}, historyUses(uses), now)
	if err != nil {
		return err
	}
	row, ok := m[customerID]
	fillHistory(h, uses, row, ok)
	return nil
}

// pageHistory reads the event history of an audience stream's customers
// a range of ids at a time, one query per range, and stops each stream page
// at its range's end (StreamOptions.BeforePage), so every customer streamed
// was covered by a read. Ranges, not "the next page of customers": bounding
// a page by its customers would read them (their index, and on PostgreSQL
// their rows for visibility) once more per page, as costly as the history.
// A range spans about a page of customers, its width following the ids'
// density so far; the last one, past the largest id when the stream
// started, is open-ended.
//
// With a pool of more than one connection it reads the next range ahead,
// on another connection, while the stream evaluates this one: the read
// starts once this range's is in hand, and the stream waits for it before
// its next page only, with no connection held; the read itself waits for
// nothing but a connection. So the two never wait on each other for
// connections.
type pageHistory struct {
	st    *store.Store
	uses  []rules.EventUse
	suses []store.HistoryUse
	now   time.Time
	ahead bool          // read the next range while this one streams
	h     rules.History // a customer's, from cur
	none  rules.History // a customer's without events

	maxID int64 // the largest customer id when the stream started; -1 before reading it
	cur   historyRange
	at    int   // the row of cur at or after the last customer given
	given int   // customers of cur given so far
	width int64 // ids of the next range

	next chan historyRange // the next range's read in flight; nil when none
}

// historyRange is the history of the customers with ids in (lo, hi]; open:
// (lo, the stream's upTo].
type historyRange struct {
	lo, hi int64
	open   bool
	read   bool                    // done, without error
	rows   []store.EventHistoryRow // in id order
	err    error
}

// maxRangePages bounds a range's width, in pages of ids: at most that many
// pages of customers' history in memory, however dense the ids after a
// sparse stretch.
const maxRangePages = 16

func newPageHistory(st *store.Store, uses []rules.EventUse, now time.Time) *pageHistory {
	p := &pageHistory{st: st, uses: uses, suses: historyUses(uses), now: now,
		ahead: st.DB.Stats().MaxOpenConnections != 1, maxID: -1}
	p.none.Reset(uses)
	return p
}

// before is StreamOptions.BeforePage.
func (p *pageHistory) before(ctx context.Context) func(after, upTo int64, limit int) (int64, error) {
	return func(after, upTo int64, limit int) (int64, error) {
		if p.cur.read && after >= p.cur.lo && (p.cur.open || after < p.cur.hi) {
			return p.bound(), nil // the page goes on in the range read
		}
		if p.maxID < 0 {
			_, hi, err := p.st.CustomerIDRange(ctx)
			if err != nil {
				return 0, err
			}
			p.maxID = hi
		}
		p.adapt(limit)
		var r historyRange
		if p.next != nil {
			r = <-p.next
			p.next = nil
		}
		if !r.read || r.lo != after {
			// No read ahead (the first page, a pool of one), or one for
			// other bounds; a failed one is read again.
			r = p.read(ctx, after, upTo, p.width)
		}
		if r.err != nil {
			return 0, r.err
		}
		p.cur, p.at, p.given = r, 0, 0
		if p.ahead && !r.open {
			next := make(chan historyRange, 1)
			p.next = next
			go func(lo, width int64) { next <- p.read(ctx, lo, upTo, width) }(r.hi, p.width)
		}
		return p.bound(), nil
	}
}

// read reads the range of width ids after lo (open-ended past maxID).
func (p *pageHistory) read(ctx context.Context, lo, upTo, width int64) historyRange {
	r := historyRange{lo: lo, hi: lo + width}
	if r.hi >= p.maxID || r.hi >= upTo || r.hi < lo {
		r.hi, r.open = upTo, true
	}
	r.rows, r.err = p.st.EventHistoryRange(ctx, r.lo, r.hi, p.suses, p.now)
	r.read = r.err == nil
	return r
}

// bound is the last id the stream's page may hold: cur's end.
func (p *pageHistory) bound() int64 {
	if p.cur.open {
		return 0
	}
	return p.cur.hi
}

// adapt sets the next range's width so that it holds about limit
// customers, by the density of the range just streamed (a page of ids at
// first), within a page and maxRangePages pages of ids.
func (p *pageHistory) adapt(limit int) {
	w := int64(limit)
	if p.cur.read && !p.cur.open {
		w = (p.cur.hi - p.cur.lo) * int64(limit) / int64(max(p.given, 1))
	}
	p.width = min(max(w, int64(limit)), maxRangePages*int64(limit))
}

// settle waits for the read in flight, if any, and drops it: no read
// outlives the stream.
func (p *pageHistory) settle() {
	if p.next != nil {
		<-p.next
		p.next = nil
	}
}

// give sets env's history to the customer's, from the range read: the
// stream gives customers in id order, so a walk of its rows finds them.
// The rules only read a History: env's shares the row's answers.
func (p *pageHistory) give(env *rules.Env, customerID int64) {
	p.given++
	rows := p.cur.rows
	for p.at < len(rows) && rows[p.at].CustomerID < customerID {
		p.at++
	}
	if p.at < len(rows) && rows[p.at].CustomerID == customerID {
		p.h.Uses, p.h.Counts, p.h.Last = p.uses, rows[p.at].Counts, rows[p.at].Last
		rules.SetHistory(env, &p.h)
		return
	}
	rules.SetHistory(env, &p.none)
}
