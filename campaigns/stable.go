package campaigns

import (
	"encoding/binary"
	"hash/fnv"
)

// StableUniform maps a customer and the names of a draw (what is drawn and
// for which campaign, e.g. "variant", "win-back") to a number in [0, 1)
// that is the same on every run, on every node and after a restart: re-runs
// agree on who is held out, who gets which variant and which arm of a
// journey's split. Different names give independent draws: being in the
// holdout says nothing about the variant one would have had.
func StableUniform(customerID int64, names ...string) float64 {
	h := fnv.New64a()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(customerID))
	h.Write(b[:])
	// Mix the FNV output (its low bits are weak for sequential ids) with the
	// splitmix64 finaliser, then keep 53 bits for an exact float64.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// pickWeighted maps u, uniform in [0, 1), to the index of one of n choices
// in proportion to their weights (all > 0); -1 when n is 0.
func pickWeighted(u float64, n int, weight func(i int) float64) int {
	total := 0.0
	for i := range n {
		total += weight(i)
	}
	acc := 0.0
	for i := range n {
		acc += weight(i) / total
		if u < acc {
			return i
		}
	}
	return n - 1
}
