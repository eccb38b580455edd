package worker_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestJourneyReentryPerOccurrence: occurrence governs re-entry. A firing
// never enters a customer who is inside; `once per 10 days` enters them
// again only 10 days after they left (a firing 5 days after is skipped, one
// 11 days after enters afresh, with the send steps keyed by the new
// occurrence); `once ever` never again. (`every run` is in
// TestJourneySequenceExitsOnPurchase.)
func TestJourneyReentryPerOccurrence(t *testing.T) {
	t.Parallel()
	cases := []struct {
		occurrence string
		want       string // c1's sends at the end; c2's are the same
		states     int    // journey states per customer at the end
	}{
		{"once per 10 days", "run-1/hello#1:sent run-1/again#3:sent run-4/hello#1:sent", 2},
		{"once ever", "ever/hello#1:sent ever/again#3:sent", 1},
	}
	for _, tc := range cases {
		for _, d := range storetest.Dialects() {
			t.Run(strings.ReplaceAll(tc.occurrence, " ", "-")+"/"+string(d), func(t *testing.T) {
				t.Parallel()
				// sequenceYAML (hello, wait 3d, again) under this occurrence rule
				yaml := strings.Replace(sequenceYAML, "occurrence: every run", "occurrence: "+tc.occurrence, 1)
				w := newJourneyWorld(t, d, yaml, 2)
				w.enter(t, "seq", "run-1")
				w.sweep(t)
				w.at(24 * time.Hour) // inside: a firing does not enter them again
				w.enter(t, "seq", "run-2")
				w.sweep(t)
				if n := w.openStates(t, "seq"); n != 2 {
					t.Fatalf("after a firing while inside: %d open states, want 2", n)
				}
				w.at(72 * time.Hour)
				w.sweep(t) // both complete at t0+3d
				w.at(8 * 24 * time.Hour)
				w.enter(t, "seq", "run-3") // left 5 days ago
				w.sweep(t)
				w.at(14 * 24 * time.Hour)
				w.enter(t, "seq", "run-4") // left 11 days ago
				w.sweep(t)
				checkSteps(t, w.steps(t, "seq"), map[string]string{"c1": tc.want, "c2": tc.want})
				states, err := w.st.JourneyStates(w.ctx, "seq")
				if err != nil {
					t.Fatal(err)
				}
				per := map[int64]int{}
				for _, s := range states {
					per[s.CustomerID]++
				}
				for id, n := range per {
					if n != tc.states {
						t.Errorf("customer %d has %d journey states, want %d", id, n, tc.states)
					}
				}
				if got := w.receivedBy(); got["customer1@example.com"] != len(strings.Fields(tc.want)) {
					t.Errorf("SMTP received %v, want %d for each", got, len(strings.Fields(tc.want)))
				}
			})
		}
	}
}

// openStates counts the journey's states that are not done.
func (w *journeyWorld) openStates(t *testing.T, journey string) int {
	t.Helper()
	states, err := w.st.JourneyStates(w.ctx, journey)
	if err != nil {
		t.Fatal(err)
	}
	return len(slices.DeleteFunc(states, func(s store.JourneyState) bool { return s.Status == store.JourneyDone }))
}
