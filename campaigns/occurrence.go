package campaigns

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// OccurrenceKind says how often one customer may receive a campaign.
type OccurrenceKind string

const (
	// OncePerYear allows one delivery per calendar year in the customer's zone.
	OncePerYear OccurrenceKind = "once_per_year"
	// OncePerDays allows one delivery per run, and the engine also skips a
	// customer who received the campaign in the last Days days.
	OncePerDays OccurrenceKind = "once_per_days"
	// OnceEver allows a single delivery per customer, for ever.
	OnceEver OccurrenceKind = "once_ever"
	// EveryRun allows one delivery per run (per cron firing, per event).
	EveryRun OccurrenceKind = "every_run"
)

// Occurrence is the parsed `occurrence` key. Its Key is the third part of the
// deliveries ledger's unique key (campaign, customer, occurrence), which is
// what makes "never twice" hold.
type Occurrence struct {
	Kind OccurrenceKind
	// Days is the look-back window for OncePerDays (0 otherwise).
	Days int
}

// Key returns the occurrence key for a firing at time firing: the year in loc
// (UTC when nil) for OncePerYear, "ever" for OnceEver, and runKey for the
// others (for OncePerDays the engine must also check Lookback).
func (o Occurrence) Key(firing time.Time, loc *time.Location, runKey string) string {
	switch o.Kind {
	case OncePerYear:
		if loc == nil {
			loc = time.UTC
		}
		return firing.In(loc).Format("2006")
	case OnceEver:
		return "ever"
	}
	return runKey
}

// Lookback is how far back the engine must look for an earlier delivery of
// the campaign to the same customer (0 when only the key matters).
func (o Occurrence) Lookback() time.Duration {
	if o.Kind == OncePerDays {
		return time.Duration(o.Days) * 24 * time.Hour
	}
	return 0
}

// String returns the canonical spelling, e.g. "once per 180 days".
func (o Occurrence) String() string {
	switch o.Kind {
	case OncePerDays:
		return fmt.Sprintf("once per %d days", o.Days)
	case "":
		return ""
	}
	return strings.ReplaceAll(string(o.Kind), "_", " ")
}

// ParseOccurrence reads "once per year", "once per N days", "once ever",
// "every run", or their snake forms (once_per_year, once_per_30_days, ...).
func ParseOccurrence(s string) (Occurrence, error) {
	norm := strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(s, "_", " "))), " ")
	switch norm {
	case "once per year", "once a year", "yearly":
		return Occurrence{Kind: OncePerYear}, nil
	case "once ever", "once":
		return Occurrence{Kind: OnceEver}, nil
	case "every run", "always":
		return Occurrence{Kind: EveryRun}, nil
	case "once per day":
		return Occurrence{Kind: OncePerDays, Days: 1}, nil
	}
	f := strings.Fields(norm)
	if len(f) == 4 && f[0] == "once" && f[1] == "per" && (f[3] == "days" || f[3] == "day") {
		n, err := strconv.Atoi(f[2])
		if err == nil && n > 0 {
			return Occurrence{Kind: OncePerDays, Days: n}, nil
		}
	}
	return Occurrence{}, fmt.Errorf(`unknown occurrence %q; use "once per year", "once per N days", "once ever" or "every run"`, s)
}
