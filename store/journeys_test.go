package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestJourneyStateLifecycle walks one customer through the store's side of
// a journey on both databases: entry once per occurrence and once while
// open, the due sweep and its lease, a wake by an event, and the exit.
func TestJourneyStateLifecycle(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			ann := insertConsentCustomer(t, st, "ann", "ann@example.com", "")
			bob := insertConsentCustomer(t, st, "bob", "bob@example.com", "")
			t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
			entry := store.JourneyEntry{JourneyID: "wb", CustomerID: ann, Occurrence: "2027", Step: "first",
				ExitEvents: []string{"purchase"}}
			held := store.JourneyEntry{JourneyID: "wb", CustomerID: bob, Occurrence: "2027", Step: "first", Holdout: true}
			n, err := st.EnterJourney(ctx, []store.JourneyEntry{entry, held}, t0)
			if err != nil || n != 2 {
				t.Fatalf("enter = %d, %v; want 2", n, err)
			}
			again := entry
			again.Occurrence = "2028" // another occurrence while the first is open: not entered
			if n, err := st.EnterJourney(ctx, []store.JourneyEntry{entry, again}, t0); err != nil || n != 0 {
				t.Fatalf("enter again = %d, %v; want 0", n, err)
			}

			claimed, err := st.ClaimDueJourneys(ctx, []string{"wb"}, t0, 10, time.Minute, "tok1")
			if err != nil || len(claimed) != 1 || claimed[0].CustomerID != ann || claimed[0].Step != "first" {
				t.Fatalf("claim = %+v, %v; want ann's state at first (the holdout takes no step)", claimed, err)
			}
			s := claimed[0]
			if again, _ := st.ClaimDueJourneys(ctx, []string{"wb"}, t0, 10, time.Minute, "tok2"); len(again) != 0 {
				t.Fatalf("a leased state was claimed again: %+v", again)
			}
			wake := t0.Add(72 * time.Hour)
			move := store.JourneyMove{StateID: s.ID, Token: "tok1", Step: "pause", Visit: 1, Status: store.JourneyWaiting,
				StepSince: t0, WakeAt: wake, ExitEvents: []string{"purchase"},
				Taken: []store.JourneyStep{{Step: "first", Visit: 1, Outcome: "pause", DeliveryStatus: store.StatusPending}}}
			if err := st.AdvanceJourney(ctx, move, t0); err != nil {
				t.Fatal(err)
			}
			if err := st.AdvanceJourney(ctx, move, t0); !errors.Is(err, store.ErrLeaseLost) {
				t.Fatalf("advance with a spent lease = %v, want ErrLeaseLost", err)
			}
			if c, _ := st.ClaimDueJourneys(ctx, []string{"wb"}, t0.Add(time.Hour), 10, time.Minute, "tok3"); len(c) != 0 {
				t.Fatalf("a waiting state was due before its wake: %+v", c)
			}

			// An event of a type nobody waits for wakes nothing; a purchase
			// (exit_on) makes the state due at its time and is kept.
			if n, err := st.WakeJourneys(ctx, ann, store.JourneyEvent{Type: "cart", At: t0.Add(time.Hour)}); err != nil || n != 0 {
				t.Fatalf("wake on cart = %d, %v; want 0", n, err)
			}
			buy := store.JourneyEvent{Type: "purchase", At: t0.Add(2 * time.Hour), Properties: map[string]any{"amount": 42.5}}
			if n, err := st.WakeJourneys(ctx, ann, buy); err != nil || n != 1 {
				t.Fatalf("wake on purchase = %d, %v; want 1", n, err)
			}
			claimed, err = st.ClaimDueJourneys(ctx, []string{"wb"}, t0.Add(2*time.Hour), 10, time.Minute, "tok4")
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claim after the event = %+v, %v; want the woken state", claimed, err)
			}
			evs, err := st.JourneyEventsFor(ctx, []int64{s.ID})
			if err != nil || len(evs[s.ID]) != 1 {
				t.Fatalf("events = %+v, %v; want the purchase", evs, err)
			}
			got := evs[s.ID][0]
			if got.Type != "purchase" || !got.At.Equal(buy.At) || got.Properties["amount"] != 42.5 {
				t.Fatalf("event = %+v, want %+v", got, buy)
			}
			// A second event arrives after the engine read the first: the
			// exit still happens for the first, the second is kept.
			if _, err := st.WakeJourneys(ctx, ann, buy); err != nil {
				t.Fatal(err)
			}
			exit := store.JourneyMove{StateID: s.ID, Token: "tok4", Step: "pause", Visit: 1, Status: store.JourneyDone,
				StepSince: t0, ExitReason: "purchase", EventsRead: got.ID}
			if err := st.AdvanceJourney(ctx, exit, t0.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			final, err := st.JourneyStateOf(ctx, "wb", ann, "2027")
			if err != nil || final.Status != store.JourneyDone || final.ExitReason != "purchase" || final.DueAt != nil {
				t.Fatalf("final = %+v, %v; want done (purchase), not due", final, err)
			}
			// Out of the journey, the customer may enter a new occurrence.
			if n, err := st.EnterJourney(ctx, []store.JourneyEntry{again}, t0.Add(3*time.Hour)); err != nil || n != 1 {
				t.Fatalf("enter a new occurrence after the exit = %d, %v; want 1", n, err)
			}
			var steps int
			if err := st.DB.Get(&steps, `SELECT count(*) FROM journey_steps`); err != nil || steps != 1 {
				t.Fatalf("journey_steps rows = %d, %v; want 1", steps, err)
			}
		})
	}
}

// TestJourneyLateEventStaysDue: an event recorded while a sweep holds the
// state, after the engine read the events, leaves the state due at once
// after its move, so the event is not lost.
func TestJourneyLateEventStaysDue(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			ann := insertConsentCustomer(t, st, "ann", "ann@example.com", "")
			t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
			e := store.JourneyEntry{JourneyID: "j", CustomerID: ann, Occurrence: "o", Step: "a"}
			if _, err := st.EnterJourney(ctx, []store.JourneyEntry{e}, t0); err != nil {
				t.Fatal(err)
			}
			c, err := st.ClaimDueJourneys(ctx, []string{"j"}, t0, 10, time.Minute, "tok")
			if err != nil || len(c) != 1 {
				t.Fatalf("claim = %+v, %v", c, err)
			}
			wait := store.JourneyMove{StateID: c[0].ID, Token: "tok", Step: "b", Visit: 1, Status: store.JourneyWaiting,
				StepSince: t0, WakeAt: t0.Add(24 * time.Hour), WaitEvent: "cart"}
			if err := st.AdvanceJourney(ctx, wait, t0); err != nil {
				t.Fatal(err)
			}
			// The timeout's sweep claims the state and reads no event; a
			// cart is recorded before its move commits.
			deadline := t0.Add(24 * time.Hour)
			c, err = st.ClaimDueJourneys(ctx, []string{"j"}, deadline, 10, time.Minute, "tok2")
			if err != nil || len(c) != 1 {
				t.Fatalf("claim at the deadline = %+v, %v", c, err)
			}
			if n, err := st.WakeJourneys(ctx, ann, store.JourneyEvent{Type: "cart", At: deadline}); err != nil || n != 1 {
				t.Fatalf("wake = %d, %v; want 1", n, err)
			}
			next := store.JourneyMove{StateID: c[0].ID, Token: "tok2", Step: "c", Visit: 1, Status: store.JourneyWaiting,
				StepSince: deadline, WakeAt: deadline.Add(48 * time.Hour)}
			if err := st.AdvanceJourney(ctx, next, deadline); err != nil {
				t.Fatal(err)
			}
			c, err = st.ClaimDueJourneys(ctx, []string{"j"}, deadline, 10, time.Minute, "tok3")
			if err != nil || len(c) != 1 || c[0].Step != "c" {
				t.Fatalf("claim after the move = %+v, %v; want the state due at once for its unread event", c, err)
			}
		})
	}
}
