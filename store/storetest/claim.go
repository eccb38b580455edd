package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
)

// Claim moves ledger row id to sending under token at time at through the
// worker's own claim (store.ClaimForSend), for tests that seed sent or failed
// rows: the row must be due, and for a message to the customer (address not
// empty) the customer must consent on the row's channel and address must not
// be suppressed, so a seed cannot record a send the engine would refuse. The
// test fails when the row is not claimable.
func Claim(t testing.TB, st *store.Store, id int64, token, address string, at time.Time) {
	t.Helper()
	if _, err := st.ClaimForSend(context.Background(), id, token, address, at); err != nil {
		t.Fatalf("claim delivery %d: %v", id, err)
	}
}
