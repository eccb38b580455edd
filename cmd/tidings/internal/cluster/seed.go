package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/tidings-crm/tidings/store"
)

// Email is the address of the i-th seeded customer (1-based).
func Email(i int) string { return fmt.Sprintf("customer%d@example.com", i) }

// Seed creates customers 1..n (external ids c1..cn, addresses Email(i)),
// all consenting to email, in batches of 1,000.
func (c *Cluster) Seed(ctx context.Context, n int) {
	c.t.Helper()
	yes := true
	started := time.Now()
	for lo := 1; lo <= n; lo += 1000 {
		hi := min(lo+999, n)
		batch := make([]store.CustomerInput, 0, hi-lo+1)
		for i := lo; i <= hi; i++ {
			addr := Email(i)
			batch = append(batch, store.CustomerInput{ExternalID: fmt.Sprintf("c%d", i), Email: &addr, EmailConsent: &yes})
		}
		if _, err := c.Store.UpsertCustomers(ctx, batch); err != nil {
			c.t.Fatalf("cluster: seed customers %d-%d: %v", lo, hi, err)
		}
	}
	c.t.Logf("cluster: seeded %d customers in %s", n, time.Since(started).Round(time.Millisecond))
}
