package worker

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// A customer the rule kept but who is deleted before planning reads its
// addresses is not matched, and the page's other customers are, in id
// order, completed with what planning reads. The reads run beside the
// stream, so this window is real.
func TestPlanReadsSkipDeletedCustomer(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			var in []store.CustomerInput
			for i := range 3 {
				email, consent := fmt.Sprintf("c%d@shop.test", i), true
				in = append(in, store.CustomerInput{ExternalID: fmt.Sprintf("c%d", i), Email: &email, EmailConsent: &consent})
			}
			if _, err := st.UpsertCustomers(ctx, in); err != nil {
				t.Fatal(err)
			}
			var ids []int64
			if err := st.DB.SelectContext(ctx, &ids, `SELECT id FROM customers ORDER BY id`); err != nil {
				t.Fatal(err)
			}
			var got []string
			p := &planReads{st: st, env: rules.NewEnv(nil), columns: planColumns,
				match: func(_ *rules.Env, cust *store.Customer) error {
					got = append(got, fmt.Sprintf("%d %s %t", cust.ID, cust.Email, cust.EmailConsent))
					return nil
				}}
			for _, id := range ids {
				p.add(&store.Customer{ID: id}) // as streamed: no planning columns
			}
			if _, err := st.DB.ExecContext(ctx, st.DB.Rebind(`DELETE FROM customers WHERE id = ?`), ids[1]); err != nil {
				t.Fatal(err)
			}
			if err := p.pageDone(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.settle(); err != nil {
				t.Fatal(err)
			}
			want := []string{fmt.Sprintf("%d c0@shop.test true", ids[0]), fmt.Sprintf("%d c2@shop.test true", ids[2])}
			if !slices.Equal(got, want) || p.gone != 1 {
				t.Fatalf("matched %q, gone %d; want %q, gone 1", got, p.gone, want)
			}
		})
	}
}
