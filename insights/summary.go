package insights

import (
	"cmp"
	"slices"
	"time"
)

// Purchase is one purchase from the log: who, when, how much.
type Purchase struct {
	CustomerID string
	At         time.Time
	Amount     float64
}

// Summary is one customer's calibration-period summary: the model inputs
// plus the customer id and the mean value of the repeat purchases (0 when
// X is 0), which is the Gamma-Gamma input.
type Summary struct {
	CustomerID string
	RFT
	MonetaryMean float64
}

// SummaryFromTransactions turns a purchase log into one RFT per customer
// who bought on or before calibrationEnd, following lifetimes'
// summary_data_from_transaction_data(freq="D", freq_multiplier=unit/day):
//   - purchases on the same calendar date (in At's own location) are one
//     purchase whose value is their sum;
//   - x is the number of purchase dates after the first;
//   - t_x is the time from the first to the last purchase date, and T from
//     the first purchase date to calibrationEnd's date, both in whole days
//     converted to unit (e.g. 7*24h for weeks: 30 days = 4.2857 weeks);
//   - purchases dated after calibrationEnd's date are ignored, and those on
//     that date count.
//
// The result is sorted by customer id. Use Summaries for the id and the
// monetary mean as well.
func SummaryFromTransactions(purchases []Purchase, calibrationEnd time.Time, unit time.Duration) []RFT {
	s := Summaries(purchases, calibrationEnd, unit)
	out := make([]RFT, len(s))
	for i := range s {
		out[i] = s[i].RFT
	}
	return out
}

// Summaries is SummaryFromTransactions keeping the customer id and the mean
// value of the repeat purchases (same-day purchases summed first, the first
// purchase date excluded), as lifetimes' monetary_value column.
func Summaries(purchases []Purchase, calibrationEnd time.Time, unit time.Duration) []Summary {
	if unit <= 0 {
		unit = 7 * 24 * time.Hour
	}
	endDay := dayNumber(calibrationEnd)
	type dated struct {
		id     string
		day    int64
		amount float64
	}
	rows := make([]dated, 0, len(purchases))
	for _, p := range purchases {
		if d := dayNumber(p.At); d <= endDay {
			rows = append(rows, dated{p.CustomerID, d, p.Amount})
		}
	}
	slices.SortStableFunc(rows, func(a, b dated) int {
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(a.day, b.day)
	})
	perDay := float64(24*time.Hour) / float64(unit)
	var out []Summary
	for i := 0; i < len(rows); {
		id, first := rows[i].id, rows[i].day
		last, days := first, int64(0)
		repeatSum, dayAmount := 0.0, 0.0
		for ; i < len(rows) && rows[i].id == id; i++ {
			if rows[i].day != last {
				if days > 0 {
					repeatSum += dayAmount
				}
				days++
				last, dayAmount = rows[i].day, 0
			}
			dayAmount += rows[i].amount
		}
		if days > 0 {
			repeatSum += dayAmount
		}
		s := Summary{CustomerID: id, RFT: RFT{
			X:  float64(days),
			TX: float64(last-first) * perDay,
			T:  float64(endDay-first) * perDay,
		}}
		if days > 0 {
			s.MonetaryMean = repeatSum / float64(days)
		}
		out = append(out, s)
	}
	return out
}

// dayNumber is the proleptic day count of t's calendar date in t's own
// location, so that differences are whole days regardless of DST.
func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}
