package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

func inboxEvent(id, customer, order string, cents int64, at time.Time) store.InboxEvent {
	return store.InboxEvent{EventID: id, EventType: "purchase", ReceivedAt: at,
		Payload: []byte(`{"event_id":"` + id + `"}`), Result: []byte(`{"event_id":"` + id + `","status":"accepted"}`),
		Purchase: store.PurchaseInput{OrderID: order, CustomerExternalID: customer, AmountCents: cents, OccurredAt: at}}
}

func TestAcceptEvents(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			at := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
			name := "Ann"
			first := inboxEvent("e1", "c1", "o1", 1500, at)
			first.Customer = &store.CustomerInput{FirstName: &name}
			out, err := st.AcceptEvents(ctx, []store.InboxEvent{first, inboxEvent("e2", "c1", "o2", 500, at.Add(48*time.Hour)), first})
			if err != nil {
				t.Fatal(err)
			}
			if out[0].Duplicate || out[1].Duplicate || !out[2].Duplicate {
				t.Fatalf("duplicates = %v %v %v, want false false true", out[0].Duplicate, out[1].Duplicate, out[2].Duplicate)
			}
			c, err := st.CustomerByExternalID(ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			if c.FirstName != "Ann" || c.OrdersCount != 2 || c.TotalSpentCents != 2000 || c.AvgDaysBetween != 2 {
				t.Fatalf("customer = %q %d orders %d cents %.1f days", c.FirstName, c.OrdersCount, c.TotalSpentCents, c.AvgDaysBetween)
			}
			// Again, with a different amount: the first result, nothing written.
			again := inboxEvent("e1", "c1", "o1", 99999, at)
			again.Result = []byte(`{"other":true}`)
			out, err = st.AcceptEvents(ctx, []store.InboxEvent{again})
			if err != nil {
				t.Fatal(err)
			}
			var res map[string]string
			if err := json.Unmarshal(out[0].Result, &res); err != nil || !out[0].Duplicate || res["event_id"] != "e1" {
				t.Fatalf("duplicate = %+v (%s), want the first result", out[0], out[0].Result)
			}
			if c, _ = st.CustomerByExternalID(ctx, "c1"); c.TotalSpentCents != 2000 {
				t.Fatalf("duplicate changed the total to %d", c.TotalSpentCents)
			}
			row, err := st.InboxEvent(ctx, "e1")
			if err != nil || row.Status != store.InboxReceived || !row.ReceivedAt.Equal(at) || row.EventType != "purchase" {
				t.Fatalf("inbox row = %+v, %v", row, err)
			}
			if _, err := st.InboxEvent(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("missing row: %v, want ErrNotFound", err)
			}
			for order, want := range map[string]bool{"o1": true, "o2": false} {
				if got, err := st.IsFirstOrder(ctx, c.ID, order); err != nil || got != want {
					t.Fatalf("IsFirstOrder(%s) = %v, %v; want %v", order, got, err, want)
				}
			}
			// Replay picks failed rows and rows stuck in received.
			if err := st.FinishEvent(ctx, "e2", store.InboxFailed, "boom", at); err != nil {
				t.Fatal(err)
			}
			ids, err := st.EventsToReplay(ctx, at.Add(time.Second), 10)
			if err != nil || len(ids) != 2 {
				t.Fatalf("to replay = %v, %v; want e1 (stuck) and e2 (failed)", ids, err)
			}
			if err := st.FinishEvent(ctx, "e1", store.InboxProcessed, "", at); err != nil {
				t.Fatal(err)
			}
			if ids, _ = st.EventsToReplay(ctx, at.Add(time.Second), 10); len(ids) != 1 || ids[0] != "e2" {
				t.Fatalf("to replay = %v, want [e2]", ids)
			}
		})
	}
}

// TestAcceptEventsMovesAndRepeatsOrders covers what one group's set-based
// statements must get right: an order posted again under a new event id for
// another customer moves, and both customers' metrics follow; an identical
// re-post writes nothing; an order twice in one group keeps its last values;
// a profile and a purchase of a new customer land in the same group.
func TestAcceptEventsMovesAndRepeatsOrders(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
			_, err := st.AcceptEvents(ctx, []store.InboxEvent{
				inboxEvent("e1", "ann", "o1", 1000, at),
				inboxEvent("e2", "ann", "o2", 2000, at.Add(24*time.Hour)),
			})
			noErr(t, err)
			name := "Bob"
			bob := inboxEvent("e4", "bob", "o3", 700, at.Add(72*time.Hour))
			bob.Customer = &store.CustomerInput{FirstName: &name}
			out, err := st.AcceptEvents(ctx, []store.InboxEvent{
				inboxEvent("e3", "bob", "o2", 2000, at.Add(24*time.Hour)), // o2 moves from ann to bob
				bob,
				inboxEvent("e5", "ann", "o1", 1000, at), // identical re-post of o1
				inboxEvent("e6", "bob", "o3", 900, at.Add(96*time.Hour)), // o3 again: the last wins
			})
			noErr(t, err)
			for i, a := range out {
				if a.Duplicate {
					t.Fatalf("out[%d] = %+v, want a new event", i, a)
				}
			}
			want := map[string]struct {
				n           int
				cents       int64
				first, last time.Time
			}{
				"ann": {1, 1000, at, at},
				"bob": {2, 2900, at.Add(24 * time.Hour), at.Add(96 * time.Hour)},
			}
			for ext, w := range want {
				c, err := st.CustomerByExternalID(ctx, ext)
				noErr(t, err)
				if c.OrdersCount != w.n || c.TotalSpentCents != w.cents || !c.FirstPurchaseAt.Equal(w.first) ||
					!c.LastPurchaseAt.Equal(w.last) {
					t.Errorf("%s: %d orders, %d cents, %v to %v; want %+v", ext, c.OrdersCount, c.TotalSpentCents,
						c.FirstPurchaseAt, c.LastPurchaseAt, w)
				}
			}
			if c, _ := st.CustomerByExternalID(ctx, "bob"); c == nil || c.FirstName != "Bob" || c.AvgDaysBetween != 3 {
				t.Errorf("bob = %+v, want first name Bob and 3 days between orders", c)
			}
			var orders int
			noErr(t, st.DB.GetContext(ctx, &orders, `SELECT count(*) FROM purchases`))
			if orders != 3 {
				t.Errorf("%d purchases, want 3 (o1, o2, o3)", orders)
			}
		})
	}
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
