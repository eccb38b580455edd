package worker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestPageHistoryReadsAhead streams 40 customers in pages of 7 with their
// event history read ahead (a pool of 4) and in turn (a pool of 1), on both
// databases: every customer gets the history a read of that customer alone
// gives. A customer of the next range is deleted once its history is read
// ahead: the page stops at the range's end, comes up one customer short,
// and the stream goes on after it, so no customer is streamed with a
// history the read did not cover, and none is skipped.
func TestPageHistoryReadsAhead(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	uses := []rules.EventUse{{Type: "product_viewed", Window: "7d", Span: 7 * 24 * time.Hour}, {Type: "product_viewed"},
		{Type: "signup"}}
	for _, dialect := range storetest.Dialects() {
		for _, pool := range []int{4, 1} {
			t.Run(fmt.Sprintf("%s/pool=%d", dialect, pool), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				st := storetest.Open(t, dialect)
				var in []store.CustomerInput
				for i := range 40 {
					in = append(in, store.CustomerInput{ExternalID: fmt.Sprintf("c%d", i)})
				}
				if _, err := st.UpsertCustomers(ctx, in); err != nil {
					t.Fatal(err)
				}
				var ids []int64
				if err := st.DB.SelectContext(ctx, &ids, `SELECT id FROM customers ORDER BY id`); err != nil {
					t.Fatal(err)
				}
				insert := st.DB.Rebind(`INSERT INTO events (event_id, customer_id, type, occurred_at, received_at)
					VALUES (?, ?, ?, ?, ?)`)
				for i, id := range ids {
					// i views over the last 2i days, a signup for every third.
					for k := range i % 5 {
						at := now.Add(-time.Duration(2*k*i+1) * time.Hour * 12)
						if _, err := st.DB.ExecContext(ctx, insert, fmt.Sprintf("v%d-%d", i, k), id, "product_viewed", at, at); err != nil {
							t.Fatal(err)
						}
					}
					if i%3 == 0 {
						at := now.AddDate(0, 0, -i)
						if _, err := st.DB.ExecContext(ctx, insert, fmt.Sprintf("s%d", i), id, "signup", at, at); err != nil {
							t.Fatal(err)
						}
					}
				}
				st.SetPoolSize(pool)
				gone := ids[16] // in the third page (ids[14:21])
				p := newPageHistory(st, uses, now)
				if p.ahead != (pool > 1) {
					t.Fatalf("read ahead %v with a pool of %d", p.ahead, pool)
				}
				env := rules.NewEnv(time.UTC)
				env.Now = now
				type seen struct {
					id                 int64
					views              int
					lastView, lastSign time.Time
				}
				of := func(id int64, env *rules.Env) seen {
					return seen{id, env.CountEvents("product_viewed", "7d"), env.LastEvent("product_viewed"), env.LastEvent("signup")}
				}
				var got []seen
				err := st.StreamCustomers(ctx, func(c *store.Customer) error {
					p.give(env, c.ID)
					got = append(got, of(c.ID, env))
					if c.ID == ids[13] && p.next != nil {
						// The third page's history is read (or being read)
						// ahead: wait for it, then delete one of its customers.
						r := <-p.next
						p.next = make(chan historyRange, 1)
						p.next <- r
						if _, err := st.DB.ExecContext(ctx, st.DB.Rebind(`DELETE FROM customers WHERE id = ?`), gone); err != nil {
							return err
						}
					}
					return nil
				}, store.StreamOptions{PageSize: 7, BeforePage: p.before(ctx)})
				p.settle()
				if err != nil {
					t.Fatal(err)
				}
				want := len(ids)
				if pool > 1 {
					want-- // deleted while the stream ran
				}
				if len(got) != want {
					t.Fatalf("streamed %d customers, want %d", len(got), want)
				}
				viewers := 0
				for _, s := range got {
					if s.id == gone && pool > 1 {
						t.Fatalf("customer %d streamed after its deletion", gone)
					}
					one := rules.NewEnv(time.UTC)
					one.Now = now
					if err := GiveHistory(ctx, st, one, s.id, uses, now); err != nil {
						t.Fatal(err)
					}
					if alone := of(s.id, one); s != alone {
						t.Fatalf("customer %d streamed with %+v, read alone %+v", s.id, s, alone)
					}
					if s.views > 0 {
						viewers++
					}
				}
				if viewers == 0 {
					t.Fatal("no customer has recent views: the test shows nothing")
				}
			})
		}
	}
}
