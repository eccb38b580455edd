package worker_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/store/synth"
	"github.com/tidings-crm/tidings/worker"
)

// leanCampaigns cover every trigger that reads the customer and rules over
// every kind of environment name: plain fields, derived ones, functions.
var leanCampaigns = map[string]string{
	"win-back": winBackYAML,
	"birthday": `id: bday
name: Birthday
occurrence: once per year
trigger: {birthday: {at: "09:00"}}
audience: email_consent || sms_consent
channels: [email, sms]
messages: {email: {subject: "Happy birthday", text: "Hi"}, sms: {text: "Happy birthday"}}
`,
	"inactivity": `id: lapsed
name: Lapsed
occurrence: once per 180 days
trigger: {inactivity: {days: 60, gap_multiplier: 2, at: "10:00"}}
audience: total_spent > 50 && average_order_value > 20
channels: [email]
messages: {email: {subject: "Come back", text: "Hi"}}
`,
	"churn": `id: churn
name: Churn
occurrence: once per 30 days
trigger: {churn_risk: {rule: "p_alive < 0.5", at: "08:30"}}
audience: clv > 1 && lifecycle in ["declining", "churned"] && expected_purchases_90d < 1
channels: [email]
messages: {email: {subject: "Stay", text: "Hi"}}
`,
	"everyone": `id: all
name: Everyone
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: "true"
channels: [email, sms]
messages: {email: {subject: "News", text: "Hi"}, sms: {text: "News"}}
`,
	"rfm-members": `id: rfm
name: RFM members
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: rfm.r >= 3 && rfm.score != "111" && sms_consent
channels: [sms]
messages: {sms: {text: "Hi"}}
`,
	"functions": `id: funcs
name: Functions
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: >-
  (has_tag("vip") || attr("loyalty_tier") == "gold") && age() >= 30 && in_local_hour(0, 18) &&
  within_days(last_purchase_at, 400) && days_since_last_purchase >= 0 && rfm.score != "" &&
  avg_days_between_purchases >= 0 && first_purchase_at < now && locale != "" && first_name != ""
channels: [email]
messages: {email: {subject: "Hello", text: "Hi"}}
`,
}

// TestLeanAudienceMatchesFull proves the lean stream changes nothing but
// speed: on both stores, for every campaign above, it matches the same
// customers as reading every column, and hands planning their addresses,
// consents and time zones.
func TestLeanAudienceMatchesFull(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, d)
			if _, err := synth.EnsureProfiles(ctx, st, 3000, 5, now); err != nil {
				t.Fatal(err)
			}
			for name, y := range leanCampaigns {
				c, problems := campaigns.Parse(name+".yaml", []byte(y))
				if campaigns.HasErrors(problems) {
					t.Fatalf("%s does not load: %v", name, problems)
				}
				full, fullStats := audienceOf(t, st, c, now, false)
				lean, leanStats := audienceOf(t, st, c, now, true)
				if fullStats.Matched == 0 || fullStats.Errors != 0 {
					t.Fatalf("%s: full audience %+v; the test wants a rule that selects some", name, fullStats)
				}
				if !slices.Equal(full, lean) || leanStats.Evaluated != fullStats.Evaluated {
					t.Fatalf("%s: lean audience %d of %d, full %d of %d; first lean %v, first full %v", name,
						leanStats.Matched, leanStats.Evaluated, fullStats.Matched, fullStats.Evaluated, head(lean), head(full))
				}
			}
		})
	}
}

// audienceOf returns what planning keeps of each matching customer.
func audienceOf(t *testing.T, st *store.Store, c *campaigns.Campaign, now time.Time, lean bool) ([]string, worker.AudienceStats) {
	t.Helper()
	var out []string
	stats, err := worker.Audience(context.Background(), st, c, worker.AudienceOptions{Now: now, DefaultLoc: time.UTC, Lean: lean},
		func(_ *rules.Env, cust *store.Customer) error {
			out = append(out, fmt.Sprintf("%d %s %s %v %v %s", cust.ID, cust.Email, cust.Phone,
				cust.EmailConsent, cust.SMSConsent, cust.TimeZone))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return out, stats
}

func head(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return s[0]
}

// TestAudienceColumnsKnowEveryName keeps the lean stream lean: a rule
// environment name without a column mapping would make it read everything.
func TestAudienceColumnsKnowEveryName(t *testing.T) {
	t.Parallel()
	for _, name := range rules.EnvFields() {
		src := name
		switch name {
		case "days_since", "days_until":
			src = name + "(now) == 0"
		case "within_days":
			src = name + "(now, 1)"
		case "age":
			src = "age() > 0"
		case "in_local_hour":
			src = "in_local_hour(1, 2)"
		case "has_tag", "attr":
			src = name + `("x") != nil`
		case "last_event", "days_since_event":
			src = name + `("signup") != nil`
		case "count_events":
			src = `count_events("signup", "7d") > 0`
		case "event", "rfm":
			src = name + " != nil"
		default:
			src = name + " != nil"
		}
		y := fmt.Sprintf("id: x\nname: X\ntrigger: {schedule: {cron: \"0 10 * * MON\"}}\naudience: '%s'\nchannels: [email]\nmessages: {email: {subject: s, text: t}}\n", src)
		c, problems := campaigns.Parse("x.yaml", []byte(y))
		if campaigns.HasErrors(problems) {
			t.Fatalf("%s: %v", src, problems)
		}
		cols := worker.AudienceColumns(c)
		if cols == nil {
			t.Errorf("rule %q: no lean column list; map the name in worker's envColumns", src)
		}
	}
}

// TestAudienceColumnsAreLean pins what the benchmark's win-back campaign
// streams: only the columns its rule reads, rfm.segment as rfm_segment
// alone, and none of planning's unless the rule reads them.
func TestAudienceColumnsAreLean(t *testing.T) {
	t.Parallel()
	c, problems := campaigns.Parse("win-back.yaml", []byte(winBackYAML))
	if campaigns.HasErrors(problems) {
		t.Fatal(problems)
	}
	want := []string{"email_consent", "last_purchase_at", "orders_count", "p_alive", "rfm_segment"}
	if got := worker.AudienceColumns(c); !slices.Equal(got, want) {
		t.Fatalf("win-back streams %v; want %v", got, want)
	}
}
