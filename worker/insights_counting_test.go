package worker

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestRefreshCountsPurchaseDays: three orders on one date are one purchase
// day for RFM frequency, the lifecycle and the models alike, so a customer
// who split a $90 basket into three orders on 1 February gets exactly the
// scores of one who paid $90 in one order that day; a customer who bought
// on three dates gets a higher frequency score.
func TestRefreshCountsPurchaseDays(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			seedHandBase(t, st)
			day := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
			var in []store.PurchaseInput
			for i := range 3 {
				in = append(in,
					store.PurchaseInput{OrderID: fmt.Sprintf("split-%d", i), CustomerExternalID: "split", AmountCents: 3000,
						OccurredAt: day.Add(time.Duration(i) * time.Hour)},
					store.PurchaseInput{OrderID: fmt.Sprintf("days-%d", i), CustomerExternalID: "days", AmountCents: 3000,
						OccurredAt: day.AddDate(0, 0, -14*i)})
			}
			in = append(in, store.PurchaseInput{OrderID: "one-0", CustomerExternalID: "one", AmountCents: 9000, OccurredAt: day})
			if _, err := st.UpsertPurchases(ctx, in); err != nil {
				t.Fatal(err)
			}
			if _, err := RefreshInsights(ctx, st, handNow, InsightsOptions{Log: quiet()}); err != nil {
				t.Fatal(err)
			}
			id := ids(t, st)
			split, one, days := mustCustomer(t, st, id["split"]), mustCustomer(t, st, id["one"]), mustCustomer(t, st, id["days"])
			if split.OrdersCount != 3 {
				t.Fatalf("split has %d orders stored, want 3 (orders_count counts order rows)", split.OrdersCount)
			}
			same := split.RFMR == one.RFMR && split.RFMF == one.RFMF && split.RFMM == one.RFMM &&
				split.Lifecycle == one.Lifecycle && split.PAlive == one.PAlive &&
				split.ExpectedPurchases90d == one.ExpectedPurchases90d && split.CLV == one.CLV
			if !same {
				t.Errorf("three orders on one date scored apart from one order of their sum:\n split rfm %d%d%d %s p_alive %g e %g clv %g\n one   rfm %d%d%d %s p_alive %g e %g clv %g",
					split.RFMR, split.RFMF, split.RFMM, split.Lifecycle, split.PAlive, split.ExpectedPurchases90d, split.CLV,
					one.RFMR, one.RFMF, one.RFMM, one.Lifecycle, one.PAlive, one.ExpectedPurchases90d, one.CLV)
			}
			if days.RFMF <= split.RFMF {
				t.Errorf("three purchase days score frequency %d, one purchase day %d", days.RFMF, split.RFMF)
			}
		})
	}
}

// TestRefreshCLVSettings: CLV is margin x the sum over the horizon's
// months of the expected purchases in each month times the expected spend,
// each month discounted by (1+rate)^i. The default (12 months, 1% a month,
// margin 1) and 24 months at 2% with margin 0.3 are the formula written
// out here, and with margin 0.3 alone every stored CLV is 0.3 times the
// default's.
func TestRefreshCLVSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	id := seedHandBase(t, st)
	clv := func(score insights.ScoreOptions) (map[string]float64, InsightsReport) {
		rep, err := RefreshInsights(ctx, st, handNow, InsightsOptions{Score: score, Log: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for ext, cid := range id {
			out[ext] = mustCustomer(t, st, cid).CLV
		}
		return out, rep
	}
	base, rep := clv(insights.ScoreOptions{})
	margin, _ := clv(insights.ScoreOptions{CLVMargin: 0.3})
	long, _ := clv(insights.ScoreOptions{CLVMargin: 0.3, CLVPeriods: 24, CLVPeriodLength: insights.WeeksPerMonth, CLVDiscount: 0.02})
	m := rep.Models
	positive := 0
	for i, h := range handBase() {
		if base[h.ext] > 0 {
			positive++
		}
		if math.Abs(margin[h.ext]-0.3*base[h.ext]) > 1e-9*base[h.ext] {
			t.Errorf("%s: CLV %.6f with margin 0.3, %.6f without", h.ext, margin[h.ext], base[h.ext])
		}
		rft := handRFT(handNow)[i]
		spend := insights.ExpectedSpend(m.GG, rft.X, float64(h.amountUSD))
		formula := func(months int, rate, margin float64) float64 {
			total, prev := 0.0, 0.0
			for month := 1; month <= months; month++ {
				cum := m.ExpectedPurchases(float64(month)*insights.WeeksPerMonth, rft.X, rft.TX, rft.T)
				total += margin * spend * (cum - prev) / math.Pow(1+rate, float64(month))
				prev = cum
			}
			return total
		}
		for _, c := range []struct {
			name           string
			got            float64
			months         int
			rate, marginOf float64
		}{{"the default (12 months, 1%, margin 1)", base[h.ext], 12, 0.01, 1}, {"24 months, 2%, margin 0.3", long[h.ext], 24, 0.02, 0.3}} {
			if want := formula(c.months, c.rate, c.marginOf); math.Abs(c.got-want) > 1e-6*want {
				t.Errorf("%s: CLV %.6f over %s, the formula gives %.6f", h.ext, c.got, c.name, want)
			}
		}
	}
	if positive < 15 {
		t.Fatalf("only %d customers have a CLV above 0", positive)
	}
	if _, err := RefreshInsights(ctx, st, handNow, InsightsOptions{Score: insights.ScoreOptions{CLVMargin: 1.5}, Log: quiet()}); err == nil {
		t.Error("a margin of 1.5 was accepted")
	}
}
