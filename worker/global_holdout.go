package worker

import (
	"context"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
)

// GlobalHoldout is the stable share of customers who receive no
// promotional campaign at all (transactional and alert messages still
// go): the control group of marketing as a whole. Membership is a hash of
// the customer id and Salt, so it never changes while the share and the
// salt stay; a new salt draws a new group.
type GlobalHoldout struct {
	Share float64 // in [0, 1); 0: none
	Salt  string
}

// Holds reports whether the customer is in the global holdout.
func (g GlobalHoldout) Holds(customerID int64) bool {
	return g.Share > 0 && campaigns.StableUniform(customerID, "global-holdout", g.Salt) < g.Share
}

// heldGlobally reports whether the message of c to the customer is kept
// back by the global holdout: a promotional campaign to the customer.
func (e *Engine) heldGlobally(c *campaigns.Campaign, customerID int64) bool {
	return c.Frequency.Class == campaigns.ClassPromotional && c.Recipient.IsCustomer() && e.opts.GlobalHoldout.Holds(customerID)
}

// GroupOutcome is what one side of the global holdout's comparison bought
// over the period.
type GroupOutcome struct {
	Customers    int64   `json:"customers"`
	Buyers       int64   `json:"buyers"` // customers with at least one order
	Orders       int64   `json:"orders"`
	RevenueCents int64   `json:"revenue_cents"`
	OrdersPer    float64 `json:"orders_per_customer"`
	RevenuePer   float64 `json:"revenue_per_customer"` // currency units
}

// GlobalHoldoutReport compares the customers of the global holdout with
// everyone else over a period: orders and revenue per customer, the share
// who bought, and the lift of everyone else over the holdout with its 95%
// interval, which is what marketing as a whole adds.
type GlobalHoldoutReport struct {
	From    time.Time          `json:"from"`
	To      time.Time          `json:"to"`
	Share   float64            `json:"share"`
	Holdout GroupOutcome       `json:"holdout"`
	Rest    GroupOutcome       `json:"rest"`
	Orders  *insights.MeanDiff `json:"orders_per_customer_lift,omitempty"`
	Revenue *insights.MeanDiff `json:"revenue_per_customer_lift,omitempty"` // currency units
	Buyers  *insights.Lift     `json:"buyers_lift,omitempty"`
}

// ReportGlobalHoldout measures the global holdout g over [from, to) from
// the purchases in the store, streaming the customers once.
func ReportGlobalHoldout(ctx context.Context, st *store.Store, g GlobalHoldout, from, to time.Time) (*GlobalHoldoutReport, error) {
	rep := &GlobalHoldoutReport{From: from, To: to, Share: g.Share}
	var orders, revenue [2]insights.Sums // [0] holdout, [1] rest
	err := st.PurchasesInPeriod(ctx, from, to, func(p store.CustomerPeriod) error {
		side, out := 1, &rep.Rest
		if g.Holds(p.CustomerID) {
			side, out = 0, &rep.Holdout
		}
		out.Customers++
		out.Orders += p.Orders
		out.RevenueCents += p.RevenueCents
		if p.Orders > 0 {
			out.Buyers++
		}
		orders[side].Add(float64(p.Orders))
		revenue[side].Add(float64(p.RevenueCents) / 100)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, o := range []*GroupOutcome{&rep.Holdout, &rep.Rest} {
		if o.Customers > 0 {
			o.OrdersPer = float64(o.Orders) / float64(o.Customers)
			o.RevenuePer = float64(o.RevenueCents) / 100 / float64(o.Customers)
		}
	}
	if d, ok := insights.CompareMeans(orders[1], orders[0]); ok {
		rep.Orders = &d
	}
	if d, ok := insights.CompareMeans(revenue[1], revenue[0]); ok {
		rep.Revenue = &d
	}
	if l, ok := insights.CompareProportions(rep.Rest.Buyers, rep.Rest.Customers, rep.Holdout.Buyers, rep.Holdout.Customers); ok {
		rep.Buyers = &l
	}
	return rep, nil
}
