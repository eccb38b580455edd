package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// refusedIndexes lists the indexes of refused rows.
func refusedIndexes(refused []store.RowError) []int {
	out := []int{}
	for _, r := range refused {
		out = append(out, r.Index)
	}
	return out
}

func TestUpsertCustomersEachKeepsRowsTheDatabaseRefuses(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			storetest.Refuse(t, st, "customers", "first_name", "refuse_me")
			var in []store.CustomerInput
			for i := range 6 {
				name := "ok"
				if i == 2 || i == 4 {
					name = "refuse_me"
				}
				in = append(in, store.CustomerInput{ExternalID: fmt.Sprintf("c%d", i), FirstName: ptr(name)})
			}
			if _, err := st.UpsertCustomers(ctx, in); !store.RowFault(err) {
				t.Fatalf("the batch as one statement: err = %v; want a row fault (the test's premise)", err)
			}
			res, refused, err := st.UpsertCustomersEach(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if got := refusedIndexes(refused); res.Inserted != 4 || fmt.Sprint(got) != "[2 4]" {
				t.Fatalf("result %+v, refused %v; want 4 inserted and rows 2 and 4 refused", res, got)
			}
			for i := range in {
				_, err := st.CustomerByExternalID(ctx, in[i].ExternalID)
				if stored := err == nil; stored == (i == 2 || i == 4) {
					t.Errorf("row %d: stored = %v (%v)", i, stored, err)
				}
			}
		})
	}
}

func TestUpsertPurchasesEachKeepsRowsTheDatabaseRefuses(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			storetest.Refuse(t, st, "purchases", "order_id", "refuse_me")
			day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			in := []store.PurchaseInput{
				{OrderID: "o1", CustomerExternalID: "a", AmountCents: 100, OccurredAt: day},
				{OrderID: "refuse_me", CustomerExternalID: "b", AmountCents: 200, OccurredAt: day},
				{OrderID: "o3", CustomerExternalID: "a", AmountCents: 300, OccurredAt: day.Add(48 * time.Hour)},
			}
			res, refused, err := st.UpsertPurchasesEach(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if got := refusedIndexes(refused); res.Inserted != 2 || fmt.Sprint(got) != "[1]" {
				t.Fatalf("result %+v, refused %v; want 2 inserted and row 1 refused", res, got)
			}
			a, err := st.CustomerByExternalID(ctx, "a")
			if err != nil || a.OrdersCount != 2 || a.TotalSpentCents != 400 || a.AvgDaysBetween != 2 {
				t.Fatalf("customer a = %+v, %v; want 2 orders, 4.00 in total, 2 days apart", a, err)
			}
			// The refused row's customer existed only through it: rolled back with it.
			if _, err := st.CustomerByExternalID(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("customer b: err = %v; want not found", err)
			}
		})
	}
}

// PostgreSQL refuses text that is not UTF-8 and NUL bytes (SQLite stores
// them): the store keeps the rest of the batch and names the cause.
func TestUpsertCustomersEachIsolatesBytesPostgreSQLRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.Postgres)
	in := []store.CustomerInput{
		{ExternalID: "c0", FirstName: ptr("Ann")},
		{ExternalID: "c1", FirstName: ptr("Ca\xfft")},
		{ExternalID: "c2", FirstName: ptr("Dan")},
		{ExternalID: "c3", LastName: ptr("nu\x00l")},
		{ExternalID: "c4", FirstName: ptr("Eve")},
	}
	res, refused, err := st.UpsertCustomersEach(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := refusedIndexes(refused); res.Inserted != 3 || fmt.Sprint(got) != "[1 3]" {
		t.Fatalf("result %+v, refused %v; want 3 inserted and rows 1 and 3 refused", res, got)
	}
	for _, r := range refused {
		if !strings.Contains(r.Error(), "invalid byte sequence") {
			t.Errorf("refusal %v; want PostgreSQL's reason", r)
		}
	}
}

// A failure that is not about the rows (here the caller gave up) fails the
// batch as a whole: it is not reported as every row being bad.
func TestUpsertCustomersEachFailsWholeOnOtherErrors(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, d)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, refused, err := st.UpsertCustomersEach(ctx, []store.CustomerInput{{ExternalID: "c0"}, {ExternalID: "c1"}})
			if err == nil || store.RowFault(err) || len(refused) != 0 {
				t.Fatalf("err = %v, refused %v; want the cancellation, no refused rows", err, refused)
			}
		})
	}
}
