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
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
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
