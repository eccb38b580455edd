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

// TestOnceAcrossLedgerPartitions plans one occurrence twice, a month
// apart, across a partition boundary of PostgreSQL's ledger: the second
// planning writes no row for the customer planned before, and its new
// customer's row joins the occurrence's partition, where the unique key
// holds. SQLite, one table, must answer the same.
func TestOnceAcrossLedgerPartitions(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			jan := time.Date(2027, 1, 31, 23, 59, 0, 0, time.UTC)
			feb := time.Date(2027, 2, 1, 0, 1, 0, 0, time.UTC)
			if _, err := st.MaintainLedger(ctx, jan, 0); err != nil {
				t.Fatal(err)
			}
			a := insertConsentCustomer(t, st, "a", "a@example.com", "+33612345601")
			b := insertConsentCustomer(t, st, "b", "b@example.com", "+33612345602")
			row := func(id int64) store.NewDelivery {
				return store.NewDelivery{CampaignID: "bday", CustomerID: id, Occurrence: "2027", Channel: "email",
					Status: store.StatusPending}
			}
			first, err := st.InsertDeliveries(ctx, []store.NewDelivery{row(a)}, jan)
			if err != nil || len(first) != 1 {
				t.Fatalf("first planning: %v, %v", first, err)
			}
			again, err := st.InsertDeliveries(ctx, []store.NewDelivery{row(a), row(b)}, feb)
			if err != nil {
				t.Fatal(err)
			}
			if len(again) != 1 || again[0].CustomerID != b {
				t.Fatalf("second planning, a month later, inserted %+v; want only customer %d's row", again, b)
			}
			var n int
			if err := st.DB.Get(&n, `SELECT count(*) FROM deliveries WHERE campaign_id = 'bday' AND customer_id = `+fmt.Sprint(a)); err != nil || n != 1 {
				t.Fatalf("customer a has %d rows (%v), want 1", n, err)
			}
			if d != store.Postgres {
				return
			}
			var parts []string
			if err := st.DB.Select(&parts, `SELECT DISTINCT tableoid::regclass::text FROM deliveries`); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(parts, []string{"deliveries_2027_01"}) {
				t.Fatalf("the occurrence's rows are in %v, want all in deliveries_2027_01", parts)
			}
		})
	}
}

// TestLedgerRetentionForgetsWholeOccurrences runs the ledger's retention
// over three occurrences: one wholly older than the retention (forgotten:
// on PostgreSQL its partition is dropped, and what pointed at its row goes
// too), one first planned as long ago but still planning rows (kept whole,
// its key still holds), and a recent one (kept).
func TestLedgerRetentionForgetsWholeOccurrences(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			now := time.Date(2027, 6, 10, 12, 0, 0, 0, time.UTC)
			old, older := now.AddDate(0, -5, 0), now.AddDate(0, -4, 0)
			for _, at := range []time.Time{old, now} {
				if _, err := st.MaintainLedger(ctx, at, 0); err != nil {
					t.Fatal(err)
				}
			}
			c := insertConsentCustomer(t, st, "c", "c@example.com", "+33612345603")
			late := insertConsentCustomer(t, st, "late", "late@example.com", "+33612345604")
			plan := func(campaign, occ string, id int64, at time.Time) []store.Inserted {
				t.Helper()
				in, err := st.InsertDeliveries(ctx, []store.NewDelivery{{CampaignID: campaign, CustomerID: id,
					Occurrence: occ, Channel: "email", Status: store.StatusPending}}, at)
				if err != nil {
					t.Fatal(err)
				}
				return in
			}
			gone := plan("promo", "spring", c, old)[0].ID
			plan("welcome", "ever", c, older)
			plan("welcome", "ever", late, now) // a new customer: the occurrence lives on
			plan("news", "june", c, now)
			if _, err := st.RecordEngagement(ctx, []store.EngagementHits{{DeliveryID: gone, Opens: 1,
				FirstOpen: old}}, old); err != nil {
				t.Fatal(err)
			}
			m, err := st.MaintainLedger(ctx, now, 90*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if d == store.Postgres && !slices.Contains(m.Dropped, "deliveries_2027_01") {
				t.Errorf("dropped %v, want deliveries_2027_01 (the spring promotion's month) among them", m.Dropped)
			}
			if d == store.Postgres && slices.Contains(m.Dropped, "deliveries_2027_02") {
				t.Errorf("dropped %v: deliveries_2027_02 holds an occurrence still planning", m.Dropped)
			}
			if d == store.SQLite && m.Deleted != 1 {
				t.Errorf("deleted %d rows, want 1 (the spring promotion's)", m.Deleted)
			}
			if _, err := st.Delivery(ctx, gone); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the forgotten row reads %v, want ErrNotFound", err)
			}
			if _, err := st.EngagementOf(ctx, gone); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the forgotten row's engagement reads %v, want ErrNotFound", err)
			}
			if in := plan("welcome", "ever", c, now); len(in) != 0 {
				t.Errorf("a kept occurrence planned again for its first customer wrote %+v", in)
			}
			if in := plan("promo", "spring", c, now); len(in) != 1 {
				t.Errorf("a forgotten occurrence planned again wrote %+v, want its row anew", in)
			}
			var n int
			if err := st.DB.Get(&n, `SELECT count(*) FROM deliveries`); err != nil || n != 4 {
				t.Errorf("the ledger holds %d rows (%v), want 4", n, err)
			}
		})
	}
}
