package store_test

import (
	"context"
	"testing"

	"github.com/tidings-crm/tidings/store"
)

func delivery(t *testing.T, st *store.Store, id int64) *store.Delivery {
	t.Helper()
	d, err := st.Delivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
