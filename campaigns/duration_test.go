package campaigns

import (
	"testing"
	"time"
)

// TestFormatDurationReadsLikeCampaignFiles: windows print as a marketer
// writes them ("14d", not "336h0m0s"), and ParseDuration reads every form
// back to the same duration.
func TestFormatDurationReadsLikeCampaignFiles(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		14 * 24 * time.Hour:                 "14d",
		7 * 24 * time.Hour:                  "7d",
		36 * time.Hour:                      "1d12h",
		12 * time.Hour:                      "12h",
		90 * time.Minute:                    "1h30m",
		24*time.Hour + 30*time.Second:       "1d30s",
		2*time.Hour + 1500*time.Millisecond: "2h1.5s",
		0:                                   "0s",
	} {
		got := FormatDuration(d)
		if got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(got); err != nil || back != d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, d)
		}
	}
}
