package triggers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// countingStore is the real store, counting its transactions and failing
// any that holds the event id "poison" (a stand-in for one event whose data
// the database refuses).
type countingStore struct {
	st    *store.Store
	calls atomic.Int64
	sizes sync.Map // call number -> events
}

func (c *countingStore) AcceptEvents(ctx context.Context, evs []store.InboxEvent) ([]store.Accepted, error) {
	n := c.calls.Add(1)
	c.sizes.Store(n, len(evs))
	if slices.ContainsFunc(evs, func(e store.InboxEvent) bool { return e.EventID == "poison" }) {
		return nil, errors.New("refused")
	}
	return c.st.AcceptEvents(ctx, evs)
}

func groupEvent(id, customer string, cents int64) store.InboxEvent {
	return store.InboxEvent{EventID: id, EventType: "purchase", ReceivedAt: time.Now().UTC(),
		Payload: []byte(`{}`), Result: []byte(fmt.Sprintf(`{"event_id":%q}`, id)),
		Purchase: store.PurchaseInput{OrderID: "o-" + id, CustomerExternalID: customer, AmountCents: cents,
			Currency: "EUR", Quantity: 1, OccurredAt: time.Now().UTC()}}
}

// TestGroupCommit posts 400 single events from 400 goroutines at once, some
// ids twice: every event is stored exactly once, each caller gets the
// answer for its own event, far fewer transactions run than events, and a
// poisoned event fails alone while the events grouped with it are stored.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			cs := &countingStore{st: storetest.Open(t, dialect)}
			g := &grouper{store: cs}
			const n = 400
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("e%03d", i%350) // the last 50 repeat earlier ids
			}
			ids[7] = "poison" // e007 then comes once, at 357: 49 repeats

			type answer struct {
				out []store.Accepted
				err error
			}
			answers := make([]answer, n)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Go(func() {
					out, err := g.accept(context.Background(), []store.InboxEvent{groupEvent(ids[i], fmt.Sprintf("c%d", i%20), 100)})
					answers[i] = answer{out, err}
				})
			}
			wg.Wait()

			dup := 0
			for i, a := range answers {
				switch {
				case ids[i] == "poison":
					if a.err == nil {
						t.Errorf("poisoned event accepted")
					}
				case a.err != nil:
					t.Errorf("event %s: %v", ids[i], a.err)
				case len(a.out) != 1 || a.out[0].EventID != ids[i]:
					t.Errorf("event %s answered with %+v", ids[i], a.out)
				case a.out[0].Duplicate:
					dup++
				}
			}
			if dup != 49 {
				t.Errorf("%d answers were duplicates, want 49 (each repeated id once)", dup)
			}
			var stored, purchases int
			ctx := context.Background()
			if err := cs.st.DB.GetContext(ctx, &stored, `SELECT count(*) FROM webhook_inbox`); err != nil {
				t.Fatal(err)
			}
			if err := cs.st.DB.GetContext(ctx, &purchases, `SELECT count(*) FROM purchases`); err != nil {
				t.Fatal(err)
			}
			if stored != 350 || purchases != 350 { // e000-e349; the poisoned one is refused
				t.Errorf("stored %d inbox rows and %d purchases, want 350 each", stored, purchases)
			}
			calls, grouped := cs.calls.Load(), 0
			cs.sizes.Range(func(_, v any) bool {
				if v.(int) > 1 {
					grouped++
				}
				return true
			})
			t.Logf("%d events in %d transactions, %d of them groups", n, calls, grouped)
			if grouped == 0 {
				t.Errorf("no transaction held more than one event: nothing was grouped")
			}
		})
	}
}

// gatedStore is the real store whose first transaction waits for the gate:
// a group stuck on a lock.
type gatedStore struct {
	st      *store.Store
	calls   atomic.Int64
	entered chan struct{} // closed when the first transaction starts
	gate    chan struct{}
}

func (g *gatedStore) AcceptEvents(ctx context.Context, evs []store.InboxEvent) ([]store.Accepted, error) {
	if g.calls.Add(1) == 1 {
		close(g.entered)
		<-g.gate
	}
	return g.st.AcceptEvents(ctx, evs)
}

// TestGroupSecondLaneOpensWhenTheQueueBuildsUp holds the first lane's
// transaction: requests queue behind it until groupSpill events wait, then
// a second lane commits them while the first is still held.
func TestGroupSecondLaneOpensWhenTheQueueBuildsUp(t *testing.T) {
	t.Parallel()
	gs := &gatedStore{st: storetest.Open(t, store.Postgres), entered: make(chan struct{}), gate: make(chan struct{})}
	g := &grouper{store: gs}
	ctx := context.Background()
	held := make(chan error, 1)
	go func() {
		_, err := g.accept(ctx, []store.InboxEvent{groupEvent("held", "c0", 100)})
		held <- err
	}()
	<-gs.entered // the first lane holds it
	done := make(chan error, groupSpill)
	for i := range groupSpill {
		go func() {
			_, err := g.accept(ctx, []store.InboxEvent{groupEvent(fmt.Sprintf("q%02d", i), fmt.Sprintf("c%d", i%5+1), 100)})
			done <- err
		}()
	}
	for range groupSpill { // all of them commit while the first lane is held
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the queued requests did not commit while the first lane was held: no second lane")
		}
	}
	select {
	case <-held:
		t.Fatal("the held request finished before its gate opened")
	default:
	}
	close(gs.gate)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	var n int
	if err := gs.st.DB.GetContext(ctx, &n, `SELECT count(*) FROM purchases`); err != nil || n != groupSpill+1 {
		t.Fatalf("%d purchases (%v), want %d", n, err, groupSpill+1)
	}
}
