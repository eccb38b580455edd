package worker

import (
	"github.com/tidings-crm/tidings/campaigns"
)

// InHoldout reports whether the customer belongs to the campaign's control
// group (no message, recorded as "holdout" in the ledger).
func InHoldout(c *campaigns.Campaign, customerID int64) bool {
	return c.Holdout > 0 && campaigns.StableUniform(customerID, "holdout", c.ID) < c.Holdout
}

// AssignVariant returns the customer's variant of the campaign by the
// configured weights ("" when the campaign has none).
func AssignVariant(c *campaigns.Campaign, customerID int64) string {
	if len(c.Variants) == 0 {
		return ""
	}
	return c.ChooseVariant(campaigns.StableUniform(customerID, "variant", c.ID))
}
