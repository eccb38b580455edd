package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

func logEvent(id, customer, typ string, at time.Time) store.InboxEvent {
	return store.InboxEvent{EventID: id, EventType: typ, ReceivedAt: at, ExternalID: customer,
		Payload: []byte(`{"id":"` + id + `"}`),
		Event:   &store.EventInput{Type: typ, OccurredAt: at, Properties: []byte(`{"n": 1}`)}}
}

// TestMaintainEventsKeepsRetention stores events over 14 months, then
// maintains the log with a 200-day retention, on both databases: exactly
// the events older than the cutoff are gone; on PostgreSQL the months past
// it are dropped as whole partitions and the coming months' partitions
// exist. Running it again changes nothing.
func TestMaintainEventsKeepsRetention(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
			// Partitions for the months the events fall in, as the hourly
			// maintenance would have created them over the year.
			for m := range 15 {
				if _, err := st.MaintainEvents(ctx, now.AddDate(0, -m, 0), 10*365*24*time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			var evs []store.InboxEvent
			for d := 0; d < 420; d += 3 {
				evs = append(evs, logEvent(fmt.Sprintf("e%03d", d), "c1", "product_viewed", now.AddDate(0, 0, -d)))
			}
			if _, err := st.AcceptEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			cutoff := now.Add(-200 * 24 * time.Hour)
			want := 0
			for _, e := range evs {
				if !e.Event.OccurredAt.Before(cutoff) {
					want++
				}
			}
			m, err := st.MaintainEvents(ctx, now, 200*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			c, err := st.CustomerByExternalID(ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			kept, err := st.CustomerEvents(ctx, c.ID, "product_viewed", 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(kept) != want || kept[0].OccurredAt.Before(cutoff) {
				t.Fatalf("kept %d events from %s, want %d from %s", len(kept), kept[0].OccurredAt, want, cutoff)
			}
			if dialect == store.Postgres {
				if len(m.Dropped) == 0 || !contains(m.Dropped, "events_2025_11") || contains(m.Dropped, "events_2026_05") {
					t.Fatalf("dropped %v, want the months wholly before %s", m.Dropped, cutoff)
				}
				var n int
				if err := st.DB.GetContext(ctx, &n, `SELECT count(*) FROM pg_class WHERE relname = 'events_2027_03'
					AND relnamespace = current_schema()::regnamespace`); err != nil || n != 1 {
					t.Fatalf("partition for March 2027: %d (%v), want created ahead", n, err)
				}
			}
			again, err := st.MaintainEvents(ctx, now, 200*24*time.Hour)
			if err != nil || again.Deleted != 0 || len(again.Dropped) != 0 || len(again.Created) != 0 {
				t.Fatalf("second run = %+v, %v; want nothing to do", again, err)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestEventHistory reads counts over windows and latest times for a page of
// customers and for a list, on both databases: events after now and of
// other types are left out, and customers without events are absent.
func TestEventHistory(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
			evs := []store.InboxEvent{
				logEvent("a1", "ann", "product_viewed", now.Add(-time.Hour)),
				logEvent("a2", "ann", "product_viewed", now.Add(-6*24*time.Hour)),
				logEvent("a3", "ann", "product_viewed", now.Add(-8*24*time.Hour)),
				logEvent("a4", "ann", "product_viewed", now.Add(time.Hour)), // after now: not yet
				logEvent("a5", "ann", "signup", now.Add(-40*24*time.Hour)),
				logEvent("b1", "bob", "signup", now.Add(-2*24*time.Hour)),
			}
			if _, err := st.AcceptEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			for _, ext := range []string{"cy"} { // a customer without events
				if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: ext}}); err != nil {
					t.Fatal(err)
				}
			}
			ids := map[string]int64{}
			for _, ext := range []string{"ann", "bob", "cy"} {
				c, err := st.CustomerByExternalID(ctx, ext)
				if err != nil {
					t.Fatal(err)
				}
				ids[ext] = c.ID
			}
			uses := []store.HistoryUse{{Type: "product_viewed", Span: 7 * 24 * time.Hour}, {Type: "product_viewed"},
				{Type: "signup"}, {Type: "signup", Span: 30 * 24 * time.Hour}}
			page, err := st.EventHistoryRange(ctx, 0, 0, uses, now)
			if err != nil {
				t.Fatal(err)
			}
			list, err := st.EventHistoryOf(ctx, []int64{ids["ann"], ids["bob"], ids["cy"]}, uses, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != 2 || page[0].CustomerID != ids["ann"] || page[1].CustomerID != ids["bob"] {
				t.Fatalf("range = %+v, want ann's then bob's", page)
			}
			for _, m := range []map[string]store.History{named(byID(page), ids), named(list, ids)} {
				ann, bob := m["ann"], m["bob"]
				if _, ok := m["cy"]; ok || len(m) != 2 {
					t.Fatalf("history = %+v, want ann and bob only", m)
				}
				if ann.Counts[0] != 2 || !ann.Last[1].Equal(now.Add(-time.Hour)) ||
					!ann.Last[2].Equal(now.Add(-40*24*time.Hour)) || ann.Counts[3] != 0 {
					t.Fatalf("ann = %+v", ann)
				}
				if bob.Counts[0] != 0 || !bob.Last[1].IsZero() || bob.Counts[3] != 1 {
					t.Fatalf("bob = %+v", bob)
				}
			}
			// A range bounded at a customer reads up to theirs only, one
			// starting at them from the next one on.
			first, err := st.EventHistoryRange(ctx, 0, ids["ann"], uses, now)
			if err != nil || len(first) != 1 || first[0].CustomerID != ids["ann"] {
				t.Fatalf("range up to ann = %+v, %v; want ann's only", first, err)
			}
			rest, err := st.EventHistoryRange(ctx, ids["ann"], 0, uses, now)
			if err != nil || len(rest) != 1 || rest[0].CustomerID != ids["bob"] {
				t.Fatalf("range after ann = %+v, %v; want bob's only", rest, err)
			}
		})
	}
}

func byID(rows []store.EventHistoryRow) map[int64]store.History {
	m := map[int64]store.History{}
	for _, r := range rows {
		m[r.CustomerID] = r.History
	}
	return m
}

func named(m map[int64]store.History, ids map[string]int64) map[string]store.History {
	out := map[string]store.History{}
	for ext, id := range ids {
		if h, ok := m[id]; ok {
			out[ext] = h
		}
	}
	return out
}

// TestMaintainEventsLeavesAMonthInTheDefaultPartition: when the maintenance
// did not run ahead of a month and its events went to the default
// partition, the maintenance still runs (retention applies), and the month
// stays in the default partition.
func TestMaintainEventsLeavesAMonthInTheDefaultPartition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.Postgres)
	later := time.Now().UTC().AddDate(0, 6, 0) // beyond the migration's partitions
	if _, err := st.AcceptEvents(ctx, []store.InboxEvent{logEvent("far", "c1", "signup", later)}); err != nil {
		t.Fatal(err)
	}
	m, err := st.MaintainEvents(ctx, later, 400*24*time.Hour)
	if err != nil {
		t.Fatalf("maintenance over a month held by the default partition: %v", err)
	}
	if contains(m.Created, "events_"+later.Format("2006_01")) || len(m.Created) == 0 {
		t.Fatalf("created %v: want the later months, not %s", m.Created, later.Format("2006_01"))
	}
}
