package insights

import (
	"math"
	"slices"
)

// Quintiles holds the four cut points that split a customer base into five
// score bands for one RFM dimension. It is computed once per refresh (from
// all values or a sample) and then scores any customer in O(1).
//
// Cut k (k = 1..4) is the value at sorted position ceil(k*n/5) (1-based),
// i.e. the largest value in the lowest k fifths. A value v scores
// 1 + #{k : v > cut k}, so equal values always get the same score and a
// value tied with a cut point falls in the lower band. With heavy ties (most
// customers have one order) some bands stay empty: that is honest, not a bug.
type Quintiles struct {
	Cuts [4]float64
	// Desc is true when a smaller value is better (recency in days): scores
	// are then computed on the negated value, so the most recent fifth gets 5.
	Desc bool
}

// NewQuintiles computes cut points from values (not modified; NaNs are
// ignored). desc marks a dimension where smaller is better.
func NewQuintiles(values []float64, desc bool) Quintiles {
	sorted := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			if desc {
				v = -v
			}
			sorted = append(sorted, v)
		}
	}
	slices.Sort(sorted)
	return QuintilesFromSorted(sorted, desc)
}

// QuintilesFromSorted computes cut points from values already sorted
// ascending, negated when desc is true (as NewQuintiles prepares them); it
// lets a caller reuse one buffer or a database-side ORDER BY.
func QuintilesFromSorted(sorted []float64, desc bool) Quintiles {
	q := Quintiles{Desc: desc}
	n := len(sorted)
	if n == 0 {
		for k := range q.Cuts {
			q.Cuts[k] = math.Inf(1)
		}
		return q
	}
	for k := 1; k <= 4; k++ {
		pos := (k*n + 4) / 5 // ceil(k*n/5), 1-based
		q.Cuts[k-1] = sorted[pos-1]
	}
	return q
}

// Score returns the 1-5 score of v (5 = best).
func (q Quintiles) Score(v float64) int {
	if q.Desc {
		v = -v
	}
	s := 1
	for _, c := range q.Cuts {
		if v > c {
			s++
		}
	}
	return s
}
