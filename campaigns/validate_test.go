package campaigns

import (
	"fmt"
	"strings"
	"testing"
)

// TestValidateGolden is what `tidings validate testdata/validate` prints.
func TestValidateGolden(t *testing.T) {
	validateGolden(t, "testdata/validate", "validate.golden")
}

// validateGolden compares what `tidings validate dir` prints with a golden file.
func validateGolden(t *testing.T, dir, name string) {
	t.Helper()
	list, problems := Load(dir)
	var b strings.Builder
	for _, p := range problems {
		fmt.Fprintln(&b, p.String())
	}
	fmt.Fprintf(&b, "%d campaign(s) loaded\n", len(list))
	golden(t, name, b.String())
}

// TestValidateWarnsSMSInQuietHours is what `tidings validate
// testdata/quiet` prints: an SMS campaign whose send time (a daily trigger's
// at, a cron schedule's time in its zone) falls in SMS quiet hours gets a
// warning at that time's position saying when the SMS really goes out,
// whether its late policy expires it, and what to write instead; team
// alerts and email-only campaigns get none. Mistakes in the late key are
// errors at their place.
func TestValidateWarnsSMSInQuietHours(t *testing.T) {
	validateGolden(t, "testdata/quiet", "quiet.golden")
}
