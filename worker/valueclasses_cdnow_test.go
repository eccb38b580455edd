package worker

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestABCTiersAndNextPurchaseOnCDNOW imports the CDNOW log
// (storetest.CDNOWPurchases: a tenth of it under -race), refreshes as of
// 1997-09-30 with examples/tiers.yaml and checks the three value classes
// against the purchases: class A holds at least 80% of the revenue and
// would hold less without its smallest spenders, A and B at least 95%;
// every tier is the one its window spend and grace give; and
// next_purchase_days ranks repeat buyers by how soon they buy again: of
// those due within 30 days (or overdue by at most 30), more buy within the
// next 30 days of the holdout than of those due in more than 60 days.
func TestABCTiersAndNextPurchaseOnCDNOW(t *testing.T) {
	t.Parallel()
	log := storetest.CDNOWPurchases(t)
	src, err := os.ReadFile("../examples/tiers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tiers, err := insights.ParseTiers(src)
	if err != nil {
		t.Fatal(err)
	}
	at := calibrationEnd
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			importFile(t, st, log.Path)
			rep, err := RefreshInsights(ctx, st, at, InsightsOptions{Tiers: tiers, Log: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			custs := map[int64]store.Customer{}
			err = st.StreamCustomers(ctx, func(c *store.Customer) error {
				custs[c.ID] = *c
				return nil
			}, store.StreamOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			revenue, count := map[string]int64{}, map[string]int{}
			var soon, soonBought, late, lateBought, atCut int
			err = st.StreamCustomerHistories(ctx, store.HistoryOptions{Until: at.AddDate(0, 0, 30)},
				func(h *store.CustomerHistory) error {
					c := custs[h.ID]
					var spent int64
					var tp []insights.TierPurchase
					boughtAgain := false
					for _, p := range h.Purchases {
						if p.OccurredAt.After(at) {
							boughtAgain = true
							continue
						}
						spent += p.AmountCents
						tp = append(tp, insights.TierPurchase{At: p.OccurredAt, Cents: p.AmountCents})
					}
					total += spent
					if c.ABC == "A" && spent == rep.ABC.ACents {
						atCut++
					}
					revenue[c.ABC] += spent
					count[c.ABC]++
					if want := tiers.Of(tp, at); c.Tier != want {
						t.Errorf("customer %s: tier %q, want %q", c.ExternalID, c.Tier, want)
					}
					if c.AvgDaysBetween == 0 { // one order: the typical gap stands in
						return nil
					}
					switch n := c.NextPurchaseDays; {
					case n >= -30 && n <= 30:
						soon++
						if boughtAgain {
							soonBought++
						}
					case n > 60:
						late++
						if boughtAgain {
							lateBought++
						}
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			share := func(classes ...string) float64 {
				var r int64
				for _, c := range classes {
					r += revenue[c]
				}
				return float64(r) / float64(total)
			}
			buyers := count["A"] + count["B"] + count["C"]
			rate := func(k, n int) float64 { return float64(k) / float64(max(n, 1)) }
			t.Logf("%s as of %s: A %d customers (%.1f%% of buyers) %.1f%% of revenue from $%.2f, B %d %.1f%% from $%.2f, "+
				"C %d; tiers %v; typical gap %.0f days; repeat buyers due within 30 days: %d, %.1f%% bought in the next 30 "+
				"days; due in over 60 days: %d, %.1f%%", log, at.Format(time.DateOnly),
				count["A"], 100*rate(count["A"], buyers), 100*share("A"), float64(rep.ABC.ACents)/100,
				count["B"], 100*share("B"), float64(rep.ABC.BCents)/100, count["C"], rep.Tiers, rep.TypicalGap,
				soon, 100*rate(soonBought, soon), late, 100*rate(lateBought, late))
			if share("A") < insights.ABCShareA || share("A", "B") < insights.ABCShareB ||
				float64(revenue["A"]-rep.ABC.ACents*int64(atCut))/float64(total) >= insights.ABCShareA {
				t.Errorf("A holds %.3f of revenue, A and B %.3f: want A the smallest set reaching 0.80, A+B >= 0.95",
					share("A"), share("A", "B"))
			}
			if count["A"] == 0 || count["A"] >= count["B"]+count["C"] || count[""] != 0 {
				t.Errorf("A is %d of %d buyers (want fewer than the others); %d buyers without a class", count["A"], buyers, count[""])
			}
			if soon == 0 || late == 0 || rate(soonBought, soon) <= rate(lateBought, late) {
				t.Errorf("due soon: %d/%d bought within 30 days; due late: %d/%d", soonBought, soon, lateBought, late)
			}
		})
	}
}
