package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// seedSQL fills customers with n synthetic rows (one in ten tagged, with
// attributes and purchase metrics), per dialect, in one statement.
var seedSQL = map[store.Dialect]string{
	store.Postgres: `INSERT INTO customers (external_id, email, first_name, time_zone, tags, attributes,
			orders_count, total_spent_cents, first_purchase_at, last_purchase_at)
		SELECT 'b' || g, 'user' || g || '@example.com', 'Name', 'Europe/Paris',
			CASE WHEN g % 10 = 0 THEN '["vip"]'::jsonb ELSE '[]'::jsonb END,
			CASE WHEN g % 10 = 0 THEN '{"plan": "gold"}'::jsonb ELSE '{}'::jsonb END,
			g % 7, g * 13, now() - interval '400 days', now() - (g % 300) * interval '1 day'
		FROM generate_series(1, $1) AS g`,
	store.SQLite: `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < ?)
		INSERT INTO customers (external_id, email, first_name, time_zone, tags, attributes,
			orders_count, total_spent_cents, first_purchase_at, last_purchase_at)
		SELECT 'b' || g, 'user' || g || '@example.com', 'Name', 'Europe/Paris',
			CASE WHEN g % 10 = 0 THEN '["vip"]' ELSE '[]' END,
			CASE WHEN g % 10 = 0 THEN '{"plan":"gold"}' ELSE '{}' END,
			g % 7, g * 13, '2024-01-01 00:00:00+00:00', '2024-06-01 00:00:00+00:00'
		FROM s`,
}

// BenchmarkStreamCustomers measures the audience hot path: rows/s streamed
// from a 200k-customer table into one reused Customer.
func BenchmarkStreamCustomers(b *testing.B) {
	const n = 200_000
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			st := storetest.Open(b, d)
			if _, err := st.DB.ExecContext(ctx, seedSQL[d], n); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				rows, vip := 0, 0
				err := st.StreamCustomers(ctx, func(c *store.Customer) error {
					rows++
					if len(c.Tags) > 0 {
						vip++
					}
					return nil
				}, store.StreamOptions{})
				if err != nil || rows != n || vip != n/10 {
					b.Fatalf("streamed %d rows (%d vip), %v", rows, vip, err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// TestStreamSeededRows checks the benchmark's seed reads back right, so the
// benchmark measures real decoding (times, JSON, NULLs) on both dialects.
func TestStreamSeededRows(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			if _, err := st.DB.ExecContext(ctx, seedSQL[d], 30); err != nil {
				t.Fatal(err)
			}
			got := 0
			err := st.StreamCustomers(ctx, func(c *store.Customer) error {
				got++
				tagged := c.ExternalID == "b10" || c.ExternalID == "b20" || c.ExternalID == "b30"
				if tagged != (len(c.Tags) == 1 && c.Attributes["plan"] == "gold") || c.FirstPurchaseAt.IsZero() ||
					!c.Birthday.IsZero() || !c.InsightsAt.IsZero() || c.TimeZone != "Europe/Paris" {
					t.Fatalf("seeded row decoded as %+v", c)
				}
				if !tagged && len(c.Attributes) != 0 {
					t.Fatalf("attributes of %s leaked from a previous row: %v", c.ExternalID, c.Attributes)
				}
				return nil
			}, store.StreamOptions{PageSize: 7})
			if err != nil || got != 30 {
				t.Fatalf("streamed %d, %v", got, err)
			}
		})
	}
}

// TestStreamColumns reads only some columns: those are filled, the others
// stay zero on both dialects, and an unknown column is refused by name.
func TestStreamColumns(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			if _, err := st.DB.ExecContext(ctx, seedSQL[d], 20); err != nil {
				t.Fatal(err)
			}
			got := 0
			err := st.StreamCustomers(ctx, func(c *store.Customer) error {
				got++
				if c.ID != int64(got) || c.Email != fmt.Sprintf("user%d@example.com", got) || c.LastPurchaseAt.IsZero() {
					t.Fatalf("selected columns of row %d read as %+v", got, c)
				}
				if c.ExternalID != "" || c.FirstName != "" || c.TimeZone != "" || len(c.Tags) != 0 ||
					len(c.Attributes) != 0 || c.OrdersCount != 0 || !c.FirstPurchaseAt.IsZero() || !c.CreatedAt.IsZero() {
					t.Fatalf("columns not asked for were read: %+v", c)
				}
				return nil
			}, store.StreamOptions{Columns: []string{"last_purchase_at", "email"}, PageSize: 6})
			if err != nil || got != 20 {
				t.Fatalf("streamed %d of 20: %v", got, err)
			}
			err = st.StreamCustomers(ctx, func(*store.Customer) error { return nil },
				store.StreamOptions{Columns: []string{"email", "mail"}})
			if err == nil || !strings.Contains(err.Error(), `no column "mail"`) {
				t.Fatalf("unknown column: err %v", err)
			}
		})
	}
}
