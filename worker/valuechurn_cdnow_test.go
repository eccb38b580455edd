package worker

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// oldChurnAlertYAML is examples/campaigns/churn-alert.yaml's trigger and
// audience as shipped before value churn (issue 18): P(alive) and the
// declining stage only.
const oldChurnAlertYAML = `id: churn-alert-old
name: Churn alert before value churn
trigger: {churn_risk: {rule: "p_alive < 0.5", at: "08:30"}}
audience: clv > 200 && p_alive < 0.5 && lifecycle in ["declining"]
channels: [email]
recipient: {team: {email: accounts@shop.example}}
occurrence: once per 30 days
messages: {email: {subject: churn, text: churn}}
`

// TestChurnAlertCatchesValueChurnOnCDNOW imports the CDNOW log
// (storetest.CDNOWPurchases: a tenth of it under -race), refreshes as of
// 1997-09-30 and runs the shipped churn alert and the one it replaced over
// the base. Customers flagged value_churn keep buying (an order in the
// latest 90 days) while their spend fell below half of the 90 days before:
// the old alert, which reads P(alive) and the declining stage, catches few
// of those with a baseline of $100 or more (3 of 242 on the whole log; at
// most a tenth here), the shipped one every one of them.
func TestChurnAlertCatchesValueChurnOnCDNOW(t *testing.T) {
	t.Parallel()
	log := storetest.CDNOWPurchases(t)
	at := time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
	shipped, err := os.ReadFile("../examples/campaigns/churn-alert.yaml")
	if err != nil {
		t.Fatal(err)
	}
	alerts := map[string]*campaigns.Campaign{}
	for name, src := range map[string][]byte{"old": []byte(oldChurnAlertYAML), "shipped": shipped} {
		c, problems := campaigns.Parse(name+".yaml", src)
		if campaigns.HasErrors(problems) {
			t.Fatal(problems)
		}
		alerts[name] = c
	}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			importFile(t, st, log.Path)
			rep, err := RefreshInsights(ctx, st, at, InsightsOptions{Log: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			valuable := map[int64]bool{} // value churn from a baseline of $100 or more
			churners, stillBuying := 0, 0
			err = st.StreamCustomers(ctx, func(c *store.Customer) error {
				if !c.ValueChurn {
					return nil
				}
				churners++
				if c.Orders90d < 1 || c.ValueTrend >= 0.5 || c.Spend90dCents*2 >= c.SpendPrev90dCents {
					t.Errorf("customer %s flagged value_churn with orders_90d %d, spend %d against %d, trend %.3f",
						c.ExternalID, c.Orders90d, c.Spend90dCents, c.SpendPrev90dCents, c.ValueTrend)
				}
				if c.PAlive >= 0.5 {
					stillBuying++
				}
				if c.SpendPrev90dCents >= 100_00 {
					valuable[c.ID] = true
				}
				return nil
			}, store.StreamOptions{})
			if err != nil {
				t.Fatal(err)
			}
			caught := map[string]int{}
			for name, c := range alerts {
				_, err := Audience(ctx, st, c, AudienceOptions{Now: at, DefaultLoc: time.UTC},
					func(_ *rules.Env, cust *store.Customer) error {
						if valuable[cust.ID] {
							caught[name]++
						}
						return nil
					})
				if err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%s as of %s: %d customers flagged value_churn (floor $%.2f), %d with P(alive) >= 0.5; "+
				"%d from a baseline of $100+: the old alert catches %d, the shipped one %d",
				log, at.Format(time.DateOnly), churners, float64(rep.Value.FloorCents)/100, stillBuying,
				len(valuable), caught["old"], caught["shipped"])
			if rep.ValueChurn != churners || churners == 0 || len(valuable) == 0 {
				t.Fatalf("the refresh counted %d value churners, the store holds %d (%d valuable)", rep.ValueChurn, churners, len(valuable))
			}
			if caught["old"]*10 > len(valuable) || caught["shipped"] != len(valuable) {
				t.Errorf("of %d valuable value churners the old alert catches %d (want at most a tenth), the shipped one %d (want all)",
					len(valuable), caught["old"], caught["shipped"])
			}
		})
	}
}
