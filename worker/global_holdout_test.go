package worker_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

const globalPromoYAML = `id: promo
name: Promo
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: email_consent
channels: [email]
messages:
  email: {subject: "Promo", text: "Promo for {{ .external_id }}"}
`

const globalReceiptYAML = `id: receipt
name: Receipt
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
messages:
  email: {subject: "Receipt", text: "Receipt for {{ .external_id }}"}
`

// TestGlobalHoldoutGetsNoPromotion: the customers of the global holdout get
// no promotional message (suppressed, reason global_holdout) and still get
// transactional ones; everyone else gets both.
func TestGlobalHoldoutGetsNoPromotion(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setup(t, d)
			b.addCustomers(t, 20, nil)
			g := worker.GlobalHoldout{Share: 0.4, Salt: "test"}
			promo, receipt := b.campaign(t, globalPromoYAML), b.campaign(t, globalReceiptYAML)
			e := b.engineWith(t, worker.Options{GlobalHoldout: g}, promo, receipt)
			b.startWorker(t, e, 4)
			for _, id := range []string{"promo", "receipt"} {
				if err := e.Enqueue(ctx, id, "k1", time.Now()); err != nil {
					t.Fatal(err)
				}
				b.waitRun(t, id, "k1", 30*time.Second)
			}
			held := 0
			promoRows, receiptRows := b.deliveries(t, "promo"), b.deliveries(t, "receipt")
			for ext, row := range promoRows {
				want := fmt.Sprintf("%s ", store.StatusSent)
				if g.Holds(row.CustomerID) {
					held++
					want = fmt.Sprintf("%s %s", store.StatusSuppressed, store.ReasonGlobalHoldout)
				}
				if got := fmt.Sprintf("%s %s", row.Status, row.Error); got != want {
					t.Errorf("promo to %s: %q, want %q", ext, got, want)
				}
				if r := receiptRows[ext]; r.Status != store.StatusSent {
					t.Errorf("receipt to %s: %s (%s), want sent whatever the holdout", ext, r.Status, r.Error)
				}
			}
			if held == 0 || held == len(promoRows) {
				t.Fatalf("%d of %d customers held: the test needs both groups", held, len(promoRows))
			}
			b.smtp.WaitMessages(t, 40-held, 10*time.Second)
		})
	}
}

// TestGlobalHoldoutReportRecoversAKnownEffect simulates a quarter where
// marketing works: customers outside the holdout order at a rate 30%
// higher (Poisson orders of 40.00 each), and checks that the report's
// intervals hold the true differences of orders and revenue per customer
// and find them significant.
func TestGlobalHoldoutReportRecoversAKnownEffect(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setup(t, d)
			const n, base, effect, amount = 3000, 0.5, 1.3, 4000
			g := worker.GlobalHoldout{Share: 0.1, Salt: "simulation"}
			b.addCustomers(t, n, nil)
			from := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
			to := from.AddDate(0, 3, 0)
			ids := map[string]int64{}
			if err := b.st.StreamCustomers(ctx, func(c *store.Customer) error { ids[c.ExternalID] = c.ID; return nil }, store.StreamOptions{}); err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(2026, 7))
			var purchases []store.PurchaseInput
			for i := 1; i <= n; i++ {
				ext := fmt.Sprintf("c%d", i)
				lambda := base * effect
				if g.Holds(ids[ext]) {
					lambda = base
				}
				for k := range poissonDraw(r, lambda) {
					at := from.Add(time.Duration(r.Int64N(int64(to.Sub(from)))))
					purchases = append(purchases, store.PurchaseInput{OrderID: fmt.Sprintf("%s-%d", ext, k),
						CustomerExternalID: ext, AmountCents: amount, Currency: "EUR", Quantity: 1, OccurredAt: at})
				}
				// An order outside the period, which must not count.
				purchases = append(purchases, store.PurchaseInput{OrderID: ext + "-before", CustomerExternalID: ext,
					AmountCents: amount, Currency: "EUR", Quantity: 1, OccurredAt: from.AddDate(0, 0, -1)})
			}
			for len(purchases) > 0 {
				k := min(len(purchases), 1000)
				if _, err := b.st.UpsertPurchases(ctx, purchases[:k]); err != nil {
					t.Fatal(err)
				}
				purchases = purchases[k:]
			}
			// The customers were created now, after the period: report as of now.
			rep, err := worker.ReportGlobalHoldout(ctx, b.st, g, from, time.Now().Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			rep2, err := worker.ReportGlobalHoldout(ctx, b.st, g, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if rep2.Holdout.Customers+rep2.Rest.Customers != 0 {
				t.Fatalf("customers created after the period were counted: %+v", rep2)
			}
			if rep.Holdout.Customers+rep.Rest.Customers != n || rep.Holdout.Customers < n/20 || rep.Holdout.Customers > n/5 {
				t.Fatalf("groups: holdout %d, rest %d of %d", rep.Holdout.Customers, rep.Rest.Customers, n)
			}
			wantOrders := base*effect - base
			for _, c := range []struct {
				name string
				diff float64
				low  float64
				high float64
				sig  bool
				want float64
			}{
				{"orders per customer", rep.Orders.Diff, rep.Orders.Low, rep.Orders.High, rep.Orders.Significant, wantOrders},
				{"revenue per customer", rep.Revenue.Diff, rep.Revenue.Low, rep.Revenue.High, rep.Revenue.Significant, wantOrders * amount / 100},
			} {
				if c.low > c.want || c.high < c.want || !c.sig {
					t.Errorf("%s: lift %.3f, 95%% CI [%.3f, %.3f], significant %v; the true effect %.3f must be inside and significant",
						c.name, c.diff, c.low, c.high, c.sig, c.want)
				}
				t.Logf("%s: true %.3f, measured %.3f [%.3f, %.3f]", c.name, c.want, c.diff, c.low, c.high)
			}
			if rel := rep.Orders.Relative; math.Abs(rel-(effect-1)) > 0.25 {
				t.Errorf("relative lift %.2f, far from the simulated %.2f", rel, effect-1)
			}
		})
	}
}

// poissonDraw draws from a Poisson distribution of mean lambda (Knuth).
func poissonDraw(r *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
