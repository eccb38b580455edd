package campaigns_test

import (
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
)

// TestBirthdayOn29FebruaryIsGreetedOn28FebruaryOnlyInCommonYears pins the
// documented rule (docs/campaigns.md, Time rules): 28 February in a year
// without a 29th, the 29th itself in a leap year, never 1 March; on the
// customer's local date.
func TestBirthdayOn29FebruaryIsGreetedOn28FebruaryOnlyInCommonYears(t *testing.T) {
	t.Parallel()
	born := time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)
	auckland, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		loc  *time.Location
		date string
		want bool
	}{
		{time.UTC, "2027-02-28", true},
		{time.UTC, "2027-03-01", false},
		{time.UTC, "2028-02-28", false},
		{time.UTC, "2028-02-29", true},
		{time.UTC, "2100-02-28", true}, // 2100 is not a leap year
		{auckland, "2027-02-28", true},
	} {
		day, _ := time.ParseInLocation(time.DateOnly, c.date, c.loc)
		for _, h := range []time.Duration{0, 12 * time.Hour, 23*time.Hour + 59*time.Minute} {
			if got := campaigns.BirthdayDue(born, c.loc, day.Add(h)); got != c.want {
				t.Errorf("born 29 Feb, on %s %s in %s: due %v, want %v", c.date, day.Add(h).Format("15:04"), c.loc, got, c.want)
			}
		}
	}
}
