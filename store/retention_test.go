package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// Payloads older than the retention are emptied, oldest first and at most
// limit per call; the event id and result stay, so a redelivery is still a
// duplicate with its first answer; an unfinished event is settled.
func TestPurgeInboxPayloads(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			now := time.Now().UTC()
			old1 := inboxEvent("old-1", "c1", "o1", 100, now.Add(-40*24*time.Hour))
			old2 := inboxEvent("old-2", "c1", "o2", 100, now.Add(-35*24*time.Hour))
			fresh := inboxEvent("fresh", "c1", "o3", 100, now.Add(-time.Hour))
			if _, err := st.AcceptEvents(ctx, []store.InboxEvent{old1, old2, fresh}); err != nil {
				t.Fatal(err)
			}
			if err := st.FinishEvent(ctx, "old-1", store.InboxProcessed, "", now); err != nil {
				t.Fatal(err)
			}
			cutoff := now.Add(-30 * 24 * time.Hour)
			for i, want := range []int64{1, 1, 0} {
				n, err := st.PurgeInboxPayloads(ctx, cutoff, 1)
				if err != nil || n != want {
					t.Fatalf("purge %d: %d, %v; want %d", i, n, err, want)
				}
			}
			for id, wantEmpty := range map[string]bool{"old-1": true, "old-2": true, "fresh": false} {
				row, err := st.InboxEvent(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if empty := string(row.Payload) == "{}"; empty != wantEmpty {
					t.Errorf("%s: payload %s, want emptied %v", id, row.Payload, wantEmpty)
				}
				if wantEmpty && row.Status != store.InboxProcessed {
					t.Errorf("%s: status %s after the purge, want processed (nothing left to replay)", id, row.Status)
				}
			}
			again, err := st.AcceptEvents(ctx, []store.InboxEvent{old2})
			if err != nil || !again[0].Duplicate {
				t.Fatalf("redelivery of a purged event: %+v, %v; want a duplicate", again, err)
			}
			var res map[string]any
			if err := json.Unmarshal(again[0].Result, &res); err != nil || res["event_id"] != "old-2" {
				t.Errorf("redelivery answer %s, want the first result", again[0].Result)
			}
		})
	}
}
