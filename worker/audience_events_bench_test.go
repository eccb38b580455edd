package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// The audience benchmark's event history: every fifth customer (id % 5 = 0)
// viewed products three times, once r days before the clock (r = id % 29),
// once an hour before, once 40 days before; so for them
// count_events("product_viewed", "30d") is 2 and days_since_event is 0.
// The events are written once, beside the kept customers.

// winBackEventsYAML is the benchmark's win-back rule with an event-history
// clause: it matches the plain rule's customers who are among the viewers.
var winBackEventsYAML = strings.Replace(strings.Replace(winBackYAML, "id: win-back-bench", "id: win-back-events-bench", 1),
	"p_alive > 0.3 && email_consent",
	`p_alive > 0.3 && email_consent && count_events("product_viewed", "30d") >= 2 && days_since_event("product_viewed") < 30`, 1)

func eventsBenchCampaign(b *testing.B) *campaigns.Campaign {
	c, problems := campaigns.Parse("win-back-events-bench.yaml", []byte(winBackEventsYAML))
	if campaigns.HasErrors(problems) || len(c.EventUses()) != 2 {
		b.Fatalf("event benchmark campaign: %v, uses %v", problems, c.EventUses())
	}
	return c
}

// viewer reports whether the benchmark's events make customer id match the
// event clause.
func viewer(id int64) bool { return id%5 == 0 }

// ensureBenchEvents writes the benchmark's events when the kept store has
// none: one INSERT ... SELECT per offset, the same SQL on both databases.
func ensureBenchEvents(b *testing.B, st *store.Store) {
	ctx := context.Background()
	var n int
	if err := st.DB.GetContext(ctx, &n, `SELECT count(*) FROM events WHERE type = 'product_viewed'`); err != nil {
		b.Fatal(err)
	}
	if n > 0 {
		return
	}
	start := time.Now()
	// The partitions of the benchmark's months first, so the rows do not
	// all land in the default partition.
	if _, err := st.MaintainEvents(ctx, audienceBenchNow.AddDate(0, -2, 0), 10*365*24*time.Hour); err != nil {
		b.Fatal(err)
	}
	if _, err := st.MaintainEvents(ctx, audienceBenchNow, 10*365*24*time.Hour); err != nil {
		b.Fatal(err)
	}
	insert := st.DB.Rebind(`INSERT INTO events (event_id, customer_id, type, occurred_at, received_at, properties)
		SELECT 'bench-' || id || '-' || ?, id, 'product_viewed', ?, ?, '{}' FROM customers WHERE id % 5 = 0 AND (? < 0 OR id % 29 = ?)`)
	type view struct {
		key string
		at  time.Time
		r   int
	}
	views := []view{{"hour", audienceBenchNow.Add(-time.Hour), -1}, {"old", audienceBenchNow.AddDate(0, 0, -40), -1}}
	for r := range 29 {
		views = append(views, view{"days", audienceBenchNow.AddDate(0, 0, -r), r})
	}
	for _, v := range views {
		if _, err := st.DB.ExecContext(ctx, insert, v.key, v.at, v.at, v.r, v.r); err != nil {
			b.Fatalf("write benchmark events: %v", err)
		}
	}
	settle := map[store.Dialect]string{store.Postgres: `VACUUM ANALYZE events`, store.SQLite: `PRAGMA wal_checkpoint(TRUNCATE)`}[st.Dialect]
	if _, err := st.DB.ExecContext(ctx, settle); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote the benchmark's events in %s (kept for the next runs)", time.Since(start).Round(time.Second))
}
