package store

import (
	"context"
	"fmt"
	"time"
)

// ReasonGlobalHoldout is the ledger reason of a promotional message not
// planned because its customer is in the global holdout: the stable share
// of customers who receive no promotional campaign, so that what marketing
// as a whole adds can be measured (suppressed, with this reason).
const ReasonGlobalHoldout Reason = "global_holdout"

// CustomerPeriod is one customer's purchases over a period.
type CustomerPeriod struct {
	CustomerID   int64
	Orders       int64
	RevenueCents int64
}

// PurchasesInPeriod calls fn, in id order, for every customer created
// before to with their orders and revenue in [from, to) (zero for those
// who bought nothing), streaming: memory stays flat whatever the number
// of customers. It is what the global holdout's report compares.
func (s *Store) PurchasesInPeriod(ctx context.Context, from, to time.Time, fn func(CustomerPeriod) error) error {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT c.id, COALESCE(p.orders, 0), COALESCE(p.revenue, 0)
		FROM customers c LEFT JOIN (SELECT customer_id, count(*) AS orders, sum(amount_cents) AS revenue
			FROM purchases WHERE occurred_at >= ? AND occurred_at < ? GROUP BY customer_id) p ON p.customer_id = c.id
		WHERE c.created_at < ? ORDER BY c.id`), from.UTC(), to.UTC(), to.UTC())
	if err != nil {
		return fmt.Errorf("store: purchases in period: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p CustomerPeriod
		if err := rows.Scan(&p.CustomerID, &p.Orders, &p.RevenueCents); err != nil {
			return fmt.Errorf("store: purchases in period: %w", err)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: purchases in period: %w", err)
	}
	return nil
}
