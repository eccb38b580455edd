package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// BenchmarkCampaignOutcomes measures the report's SQL on PostgreSQL over a
// campaign of 50,000 customers (10% holdout, two variants), each with a
// message of a competing campaign and two purchases, one in three inside the
// window. Run: go test -run '^$' -bench CampaignOutcomes -benchtime 3x ./store/
func BenchmarkCampaignOutcomes(b *testing.B) {
	const n = 50000
	ctx := context.Background()
	st := storetest.Open(b, store.Postgres)
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO customers (id, external_id) SELECT g, 'c' || g FROM generate_series(1, $1::int) g`,
		`INSERT INTO deliveries (campaign_id, customer_id, occurrence, channel, variant, status, created_at, sent_at, period)
		 SELECT 'promo', g, 'k1', 'email', CASE WHEN g % 10 = 0 THEN '' WHEN g % 2 = 0 THEN 'a' ELSE 'b' END,
		        CASE WHEN g % 10 = 0 THEN 'holdout' ELSE 'sent' END, $2::timestamptz,
		        CASE WHEN g % 10 = 0 THEN NULL ELSE $2::timestamptz + interval '1 hour' END, '1970-01-01'
		 FROM generate_series(1, $1::int) g`,
		`INSERT INTO deliveries (campaign_id, customer_id, occurrence, channel, status, created_at, sent_at, period)
		 SELECT 'other', g, 'k1', 'email', 'sent', $2::timestamptz, $2::timestamptz + (g % 20) * interval '1 day', '1970-01-01'
		 FROM generate_series(1, $1::int) g`,
		`INSERT INTO purchases (order_id, customer_id, amount_cents, occurred_at)
		 SELECT 'o' || g || '-' || k, g, 1000 + g % 500, $2::timestamptz + ((g * 7 + k * 13) % 30) * interval '1 day'
		 FROM generate_series(1, $1::int) g, generate_series(1, 2) k`,
		`ANALYZE`,
	} {
		args := []any{n, t0}
		if q == `ANALYZE` || q[:21] == `INSERT INTO customers` {
			args = args[:0]
			if q != `ANALYZE` {
				args = []any{n}
			}
		}
		if _, err := st.DB.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(fmt.Errorf("%s: %w", q[:30], err))
		}
	}
	b.ResetTimer()
	for range b.N {
		out, err := st.CampaignOutcomes(ctx, "promo", 7*24*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if out.Treated.Audience != n*9/10 {
			b.Fatalf("treated audience %d", out.Treated.Audience)
		}
	}
	b.ReportMetric(float64(n), "rows")
}
