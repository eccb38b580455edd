package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestTopicOptOuts: SetTopics makes the opt-outs exactly the given ones
// among the known topics, records each change with its source in the
// consent history, reads back by customer, batch and page, and a claim
// checking a topic refuses a customer who left it.
func TestTopicOptOuts(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			var ids []int64
			for i := 1; i <= 3; i++ {
				ids = append(ids, insertConsentCustomer(t, st, fmt.Sprintf("c%d", i), fmt.Sprintf("c%d@example.com", i), ""))
			}
			known := []string{"newsletter", "offers"}
			if err := st.SetTopics(ctx, ids[0], known, []string{"newsletter", "offers"}, store.ConsentPreferences); err != nil {
				t.Fatal(err)
			}
			// Joining offers again, a topic outside known untouched.
			if err := st.SetTopics(ctx, ids[0], known, []string{"newsletter"}, store.ConsentPreferences); err != nil {
				t.Fatal(err)
			}
			if err := st.SetTopic(ctx, ids[2], "offers", false, store.ConsentAdmin); err != nil {
				t.Fatal(err)
			}
			if err := st.SetTopics(ctx, 999999, known, nil, store.ConsentAdmin); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown customer: %v, want ErrNotFound", err)
			}
			got, err := st.TopicOptOuts(ctx, ids[0])
			if err != nil || !slices.Equal(got, []string{"newsletter"}) {
				t.Fatalf("opt-outs of c1 = %v, %v", got, err)
			}
			page, err := st.TopicOptOutsPage(ctx, 0, 0, 2) // c1 and c2
			if err != nil || len(page) != 1 || !slices.Equal(page[ids[0]], []string{"newsletter"}) {
				t.Fatalf("page = %v, %v", page, err)
			}
			batch, err := st.TopicOptOutsOf(ctx, ids)
			if err != nil || len(batch) != 2 || !slices.Equal(batch[ids[2]], []string{"offers"}) {
				t.Fatalf("batch = %v, %v", batch, err)
			}
			hist, err := st.ConsentHistory(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, h := range hist {
				lines = append(lines, fmt.Sprintf("%s %s %v %s", h.Channel, h.Topic, h.Granted, h.Source))
			}
			want := []string{" newsletter false preferences", " offers false preferences", " offers true preferences"}
			slices.Sort(lines)
			if !slices.Equal(lines, want) {
				t.Fatalf("history = %q, want %q", lines, want)
			}
			counts, err := st.ConsentCounts(ctx)
			if err != nil || len(counts) == 0 || counts[0].Channel != "topic" {
				t.Fatalf("counts = %+v, %v", counts, err)
			}

			now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			in, err := st.InsertDeliveries(ctx, []store.NewDelivery{
				{CampaignID: "news", CustomerID: ids[0], Occurrence: "1", Channel: "email", Status: store.StatusPending},
				{CampaignID: "news", CustomerID: ids[1], Occurrence: "1", Channel: "email", Status: store.StatusPending},
			}, now)
			if err != nil {
				t.Fatal(err)
			}
			block := []store.BlockRow{
				{ID: in[0].ID, Check: store.Check{Address: "c1@example.com", Topic: "newsletter"}},
				{ID: in[1].ID, Check: store.Check{Address: "c2@example.com", Topic: "newsletter"}},
			}
			res, err := st.SettleAndClaim(ctx, nil, "t0", block, now)
			if err != nil {
				t.Fatal(err)
			}
			if _, claimed := res.Claimed[in[0].ID]; claimed {
				t.Fatal("the claim took a customer who left the topic")
			}
			if _, claimed := res.Claimed[in[1].ID]; !claimed {
				t.Fatal("the claim left out a subscriber")
			}
		})
	}
}
