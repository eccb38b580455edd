package dashboard

import (
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	cases := []struct{ got, want string }{
		{Count(0), "0"},
		{Count(999), "999"},
		{Count(1000), "1,000"},
		{Count(1234567), "1,234,567"},
		{Count(-12345), "-12,345"},
		{Percent(0.1234), "12.34%"},
		{Percent(0), "0.00%"},
		{Percent(1), "100.00%"},
		{Points(0.04), "+4.00 pp"},
		{Points(-0.0123), "-1.23 pp"},
		{Points(-0.00001), "+0.00 pp"}, // never "-0.00"
		{Relative(0.5), "+50.0%"},
		{Relative(-0.25), "-25.0%"},
		{Money(12345.5), "12,345.50"},
		{Money(0.129), "0.13"},
		{Money(-1234), "-1,234.00"},
		{Money(-0.001), "0.00"},
		{PValue(0.01234), "0.0123"},
		{PValue(0.00001), "< 0.0001"},
		{When(time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("x", 3600))), "2026-03-04 04:06 UTC"},
		{When(time.Time{}), "—"},
		{whenAny((*time.Time)(nil)), "—"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %q, want %q", i, c.got, c.want)
		}
	}
}
