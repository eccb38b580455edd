package dashboard

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/tidings-crm/tidings/worker"
)

// The dashboard prints every number through these functions, so a figure
// reads the same in a table, a chart label and a tooltip, and a test can
// find the numbers of the JSON report on the page.

// english groups thousands with commas.
var english = message.NewPrinter(language.English)

// Count prints a whole number with thousands separators: 12,345.
func Count(n int64) string {
	return english.Sprintf("%d", n)
}

// Percent prints a proportion as a percentage with two decimals: 0.1234 is
// "12.34%".
func Percent(rate float64) string {
	return fmt.Sprintf("%.2f%%", noNegZero(rate*100, 2))
}

// Points prints a difference of proportions in percentage points, signed,
// with two decimals: 0.04 is "+4.00 pp".
func Points(diff float64) string {
	return fmt.Sprintf("%+.2f pp", noNegZero(diff*100, 2))
}

// Relative prints a relative change, signed, with one decimal: 0.5 is
// "+50.0%".
func Relative(r float64) string {
	return fmt.Sprintf("%+.1f%%", noNegZero(r*100, 1))
}

// Money prints an amount with two decimals and thousands separators:
// 12345.5 is "12,345.50".
func Money(x float64) string {
	return english.Sprintf("%.2f", noNegZero(x, 2))
}

// PValue prints a p-value with four decimals, or "< 0.0001".
func PValue(p float64) string {
	if p < 0.0001 {
		return "< 0.0001"
	}
	return fmt.Sprintf("%.4f", p)
}

// When prints a time in UTC to the minute, or "—" for none.
func When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Window prints a deferred window as its UTC day and hours:
// "Dec 4, 08:00–09:00 UTC".
func Window(w worker.DeferredWindow) string {
	return w.Start.UTC().Format("Jan 2, 15:04") + "–" + w.End.UTC().Format("15:04") + " UTC"
}

// whenAny is When for the templates, which hold times and optional times.
func whenAny(v any) string {
	switch t := v.(type) {
	case time.Time:
		return When(t)
	case *time.Time:
		if t != nil {
			return When(*t)
		}
	}
	return "—"
}

// noNegZero keeps a value that rounds to zero at the given decimals from
// printing as "-0.00".
func noNegZero(v float64, decimals int) float64 {
	if math.Abs(v) < 0.5*math.Pow10(-decimals) {
		return 0
	}
	return v
}
