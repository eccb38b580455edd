package worker

import (
	"encoding/binary"
	"hash/fnv"

	"github.com/tidings-crm/tidings/campaigns"
)

// stableUniform maps (salt, campaign, customer) to a number in [0, 1) that is
// the same on every run and every node, so re-runs agree on who is held out
// and who gets which variant. Different salts give independent draws: being
// in the holdout says nothing about the variant one would have had.
func stableUniform(salt, campaign string, customerID int64) float64 {
	h := fnv.New64a()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(campaign))
	h.Write([]byte{0})
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

// InHoldout reports whether the customer belongs to the campaign's control
// group (no message, recorded as "holdout" in the ledger).
func InHoldout(c *campaigns.Campaign, customerID int64) bool {
	return c.Holdout > 0 && stableUniform("holdout", c.ID, customerID) < c.Holdout
}

// AssignVariant returns the customer's variant of the campaign by the
// configured weights ("" when the campaign has none).
func AssignVariant(c *campaigns.Campaign, customerID int64) string {
	if len(c.Variants) == 0 {
		return ""
	}
	return c.ChooseVariant(stableUniform("variant", c.ID, customerID))
}
