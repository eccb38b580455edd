package worker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

const topicNewsYAML = `id: news
name: News
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: email_consent
channels: [email]
topic: newsletter
messages:
  email: {subject: "News", text: "News for {{ .external_id }}"}
`

const topicRuleYAML = `id: tips
name: Tips
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: email_consent && subscribed("offers")
channels: [email]
messages:
  email: {subject: "Tips", text: "Tips for {{ .external_id }}"}
`

// TestTopicOptOutsSkipTheirTopicOnly: a campaign of the newsletter topic
// skips (suppressed, reason topic_opt_out) the customers who left it and no
// one else; a rule asking subscribed("offers") leaves out those who left
// offers. Both databases, a real SMTP server.
func TestTopicOptOutsSkipTheirTopicOnly(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setup(t, d)
			b.addCustomers(t, 4, nil)
			topics, err := campaigns.ParseTopics("newsletter=Weekly newsletter, offers=Offers")
			if err != nil {
				t.Fatal(err)
			}
			left := map[string][]string{"c1": {"newsletter"}, "c2": {"offers"}, "c4": {"newsletter", "offers"}}
			for ext, l := range left {
				cust, err := b.st.CustomerByExternalID(ctx, ext)
				if err != nil {
					t.Fatal(err)
				}
				if err := b.st.SetTopics(ctx, cust.ID, campaigns.TopicIDs(topics), l, store.ConsentPreferences); err != nil {
					t.Fatal(err)
				}
			}
			s := campaigns.Settings{Topics: topics}
			var list []*campaigns.Campaign
			for _, src := range []string{topicNewsYAML, topicRuleYAML} {
				c, problems := s.Parse("topic.yaml", []byte(src))
				if c == nil {
					t.Fatal(problems)
				}
				list = append(list, c)
			}
			e := b.engineWith(t, worker.Options{Topics: topics}, list...)
			b.startWorker(t, e, 4)
			for _, c := range list {
				if err := e.Enqueue(ctx, c.ID, "k1", time.Now()); err != nil {
					t.Fatal(err)
				}
				b.waitRun(t, c.ID, "k1", 30*time.Second)
			}
			b.smtp.WaitMessages(t, 4, 10*time.Second)

			news := b.deliveries(t, "news")
			for ext, want := range map[string]store.Status{"c1": store.StatusSuppressed, "c2": store.StatusSent,
				"c3": store.StatusSent, "c4": store.StatusSuppressed} {
				if news[ext].Status != want {
					t.Errorf("news to %s: %s (%s), want %s", ext, news[ext].Status, news[ext].Error, want)
				}
				if want == store.StatusSuppressed && news[ext].Error != "topic_opt_out: newsletter" {
					t.Errorf("news to %s: reason %q, want topic_opt_out: newsletter", ext, news[ext].Error)
				}
			}
			tips := b.deliveries(t, "tips")
			var got []string
			for ext, row := range tips {
				if row.Status != store.StatusSent {
					t.Errorf("tips to %s: %s (%s)", ext, row.Status, row.Error)
				}
				got = append(got, ext)
			}
			slices.Sort(got)
			if !slices.Equal(got, []string{"c1", "c3"}) {
				t.Errorf("tips went to %v, want the subscribers of offers [c1 c3]", got)
			}
		})
	}
}
