package campaigns_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
)

// dailyCampaign returns a loaded campaign of a daily trigger kind with `at`.
func dailyCampaign(t *testing.T, kind, at string) *campaigns.Campaign {
	t.Helper()
	trigger := map[string]string{
		"birthday":   fmt.Sprintf(`{birthday: {at: "%s"}}`, at),
		"inactivity": fmt.Sprintf(`{inactivity: {days: 90, at: "%s"}}`, at),
		"churn_risk": fmt.Sprintf(`{churn_risk: {rule: "p_alive < 0.3", at: "%s"}}`, at),
	}[kind]
	yaml := "id: dst\nname: DST\ntrigger: " + trigger + `
audience: "true"
channels: [email]
occurrence: once per year
messages: {email: {subject: "Hi", text: "Hi"}}
`
	c, problems := campaigns.Parse("dst.yaml", []byte(yaml))
	if campaigns.HasErrors(problems) {
		t.Fatalf("%s campaign does not load: %v", kind, problems)
	}
	return c
}

// TestSendAtOnDSTDaysFollowsTheCronRule: the `at` of birthday, inactivity
// and churn-risk triggers on the day clocks change resolves by the same rule
// as cron schedules. Before, time.Date sent New York's skipped 02:30 at
// 01:30 EST (an hour early), Lord Howe's skipped 02:15 at 02:45, and Lord
// Howe's repeated 01:45 at its second instant.
func TestSendAtOnDSTDaysFollowsTheCronRule(t *testing.T) {
	t.Parallel()
	cases := []struct {
		zone, day, at string
		want          string
	}{
		{"America/New_York", "2027-03-14", "02:30", "2027-03-14T03:00:00-04:00"},    // skipped: end of the gap
		{"Australia/Lord_Howe", "2026-10-04", "02:15", "2026-10-04T02:30:00+11:00"}, // skipped by 30 minutes
		{"Australia/Lord_Howe", "2026-10-04", "02:30", "2026-10-04T02:30:00+11:00"}, // the first reading after
		{"America/New_York", "2026-11-01", "01:30", "2026-11-01T01:30:00-04:00"},    // repeated: the first, EDT
		{"Australia/Lord_Howe", "2027-04-04", "01:45", "2027-04-04T01:45:00+11:00"}, // repeated: the first, +11
		{"Europe/Berlin", "2026-10-25", "02:30", "2026-10-25T02:30:00+02:00"},       // repeated: CEST
	}
	for _, kind := range []string{"birthday", "inactivity", "churn_risk"} {
		for _, c := range cases {
			loc, err := time.LoadLocation(c.zone)
			if err != nil {
				t.Fatal(err)
			}
			// The scheduler evaluates shortly after the customer's midnight.
			day, _ := time.ParseInLocation(time.DateOnly, c.day, loc)
			now := day.Add(5 * time.Minute)
			got := campaigns.SendAt(dailyCampaign(t, kind, c.at), now, loc)
			if got.Format(time.RFC3339) != c.want {
				t.Errorf("%s at %s on %s in %s: sent at %s, want %s", kind, c.at, c.day, c.zone, got.Format(time.RFC3339), c.want)
			}
			// Evaluated after the time has passed: now, not tomorrow.
			late := got.Add(time.Minute)
			if again := campaigns.SendAt(dailyCampaign(t, kind, c.at), late, loc); !again.Equal(late) {
				t.Errorf("%s at %s on %s in %s, evaluated at %s: %s, want now", kind, c.at, c.day, c.zone, late, again)
			}
		}
	}
}
