package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

func ptr[T any](v T) *T { return &v }

func TestOpenRejectsUnknownURL(t *testing.T) {
	t.Parallel()
	_, err := store.Open(context.Background(), "mysql://x")
	if err == nil || !strings.Contains(err.Error(), "must start with postgres:// or sqlite:") {
		t.Fatalf("Open(mysql://x) error = %v, want the supported-schemes message", err)
	}
}

func TestOpenSQLiteCreatesFolder(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "b")
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mode string
	if err := st.DB.Get(&mode, `PRAGMA journal_mode`); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := st.DB.Get(&fk, `PRAGMA foreign_keys`); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
	}
}

func TestMigrateIsIdempotentAndReported(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.OpenEmpty(t, d)
			before, err := st.MigrationStatus(ctx)
			if err != nil || len(before) == 0 || before[0].AppliedAt != nil {
				t.Fatalf("status before = %+v, %v; want pending migrations", before, err)
			}
			applied, err := st.Migrate(ctx)
			if err != nil || len(applied) == 0 || applied[0] != "0001_init" {
				t.Fatalf("Migrate = %v, %v; want [0001_init ...]", applied, err)
			}
			again, err := st.Migrate(ctx)
			if err != nil || len(again) != 0 {
				t.Fatalf("second Migrate = %v, %v; want nothing applied", again, err)
			}
			after, err := st.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range after {
				if m.AppliedAt == nil || time.Since(*m.AppliedAt) > time.Hour || m.AppliedAt.Location() != time.UTC {
					t.Errorf("migration %d %s applied at %v, want a recent UTC time", m.Version, m.Name, m.AppliedAt)
				}
			}
		})
	}
}

// Several processes starting at once must apply each migration exactly once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := storetest.URL(t, d)
			const n = 4
			var wg sync.WaitGroup
			results := make([][]string, n)
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st, err := store.Open(ctx, url)
					if err != nil {
						errs[i] = err
						return
					}
					defer st.Close()
					results[i], errs[i] = st.Migrate(ctx)
				}()
			}
			wg.Wait()
			total := 0
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("process %d: %v", i, errs[i])
				}
				total += len(results[i])
			}
			st, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			list, _ := st.MigrationStatus(ctx)
			if total != len(list) {
				t.Fatalf("%d migrations applied in total by %d processes, want %d (each once)", total, n, len(list))
			}
		})
	}
}

func TestCustomerLookupNotFound(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, d)
			_, err := st.CustomerByExternalID(context.Background(), "nobody")
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			_, err = st.CustomerByID(context.Background(), 42)
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestUpsertCustomers(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			bday := time.Date(1990, 2, 28, 0, 0, 0, 0, time.UTC)
			first := []store.CustomerInput{
				{ExternalID: "c1", Email: ptr("ann@example.com"), FirstName: ptr("Ann"), TimeZone: ptr("Europe/Paris"),
					Birthday: &bday, EmailConsent: ptr(true), Tags: []string{"vip", "fr"},
					Attributes: map[string]any{"plan": "gold", "score": 7}},
				{ExternalID: "c2", Phone: ptr("+15550001111"), SMSConsent: ptr(true)},
			}
			res, err := st.UpsertCustomers(ctx, first)
			if err != nil || res != (store.UpsertResult{Inserted: 2}) {
				t.Fatalf("first upsert = %+v, %v; want 2 inserted", res, err)
			}
			res, err = st.UpsertCustomers(ctx, first)
			if err != nil || res != (store.UpsertResult{Unchanged: 2}) {
				t.Fatalf("identical upsert = %+v, %v; want 2 unchanged", res, err)
			}
			c1, _ := st.CustomerByExternalID(ctx, "c1")
			stamp := c1.UpdatedAt
			// Only the provided field changes; the rest is kept; attributes merge.
			res, err = st.UpsertCustomers(ctx, []store.CustomerInput{
				{ExternalID: "c1", LastName: ptr("Lee"), Attributes: map[string]any{"plan": "silver", "score": nil}},
				{ExternalID: "c3"},
			})
			if err != nil || res != (store.UpsertResult{Inserted: 1, Updated: 1}) {
				t.Fatalf("partial upsert = %+v, %v; want 1 inserted 1 updated", res, err)
			}
			c1, err = st.CustomerByExternalID(ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			if c1.Email != "ann@example.com" || c1.FirstName != "Ann" || c1.LastName != "Lee" ||
				c1.TimeZone != "Europe/Paris" || !c1.Birthday.Equal(bday) || !c1.EmailConsent || c1.SMSConsent ||
				strings.Join(c1.Tags, ",") != "vip,fr" || c1.Attributes["plan"] != "silver" ||
				len(c1.Attributes) != 1 || !c1.UpdatedAt.After(stamp) || c1.UpdatedAt.Location() != time.UTC {
				t.Fatalf("merged customer = %+v", c1)
			}
			c2, _ := st.CustomerByExternalID(ctx, "c2")
			byID, err := st.CustomerByID(ctx, c2.ID)
			if err != nil || byID.Phone != "+15550001111" || !byID.SMSConsent || len(byID.Tags) != 0 || !byID.Birthday.IsZero() {
				t.Fatalf("c2 by id = %+v, %v", byID, err)
			}
			if n, _ := st.CountCustomers(ctx); n != 3 {
				t.Fatalf("CountCustomers = %d, want 3", n)
			}
		})
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestUpsertPurchasesMaintainsMetrics(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			in := []store.PurchaseInput{
				{OrderID: "o1", CustomerExternalID: "a", AmountCents: 1000, OccurredAt: at("2024-01-01T10:00:00Z")},
				{OrderID: "o2", CustomerExternalID: "a", AmountCents: 2550, Quantity: 2, OccurredAt: at("2024-01-11T10:00:00+02:00"),
					Items: []byte(`[{"sku": "X1", "quantity": 2}]`)},
				{OrderID: "o3", CustomerExternalID: "a", AmountCents: 99, OccurredAt: at("2024-01-21T10:00:00Z")},
				{OrderID: "o4", CustomerExternalID: "b", AmountCents: 500, Currency: "EUR", OccurredAt: at("2024-03-01T00:00:00Z")},
			}
			res, err := st.UpsertPurchases(ctx, in)
			if err != nil || res != (store.UpsertResult{Inserted: 4}) {
				t.Fatalf("first = %+v, %v", res, err)
			}
			a, _ := st.CustomerByExternalID(ctx, "a")
			checkMetrics(t, a, 3, 3649, at("2024-01-01T10:00:00Z"), at("2024-01-21T10:00:00Z"), 10)
			res, err = st.UpsertPurchases(ctx, in)
			if err != nil || res != (store.UpsertResult{Unchanged: 4}) {
				t.Fatalf("re-import = %+v, %v; want 4 unchanged", res, err)
			}
			again, _ := st.CustomerByExternalID(ctx, "a")
			if !again.UpdatedAt.Equal(a.UpdatedAt) {
				t.Fatalf("identical re-import rewrote customer a (updated_at %v -> %v)", a.UpdatedAt, again.UpdatedAt)
			}
			// Order o3 turns out to belong to b with another amount.
			res, err = st.UpsertPurchases(ctx, []store.PurchaseInput{
				{OrderID: "o3", CustomerExternalID: "b", AmountCents: 100, OccurredAt: at("2024-03-11T00:00:00Z")},
			})
			if err != nil || res != (store.UpsertResult{Updated: 1}) {
				t.Fatalf("move = %+v, %v; want 1 updated", res, err)
			}
			a, _ = st.CustomerByExternalID(ctx, "a")
			checkMetrics(t, a, 2, 3550, at("2024-01-01T10:00:00Z"), at("2024-01-11T08:00:00Z"), 10-2.0/24)
			b, _ := st.CustomerByExternalID(ctx, "b")
			checkMetrics(t, b, 2, 600, at("2024-03-01T00:00:00Z"), at("2024-03-11T00:00:00Z"), 10)
			if n, _ := st.CountPurchases(ctx); n != 4 {
				t.Fatalf("CountPurchases = %d, want 4", n)
			}
		})
	}
}

func checkMetrics(t *testing.T, c *store.Customer, n int, cents int64, first, last time.Time, avg float64) {
	t.Helper()
	if c.OrdersCount != n || c.TotalSpentCents != cents || !c.FirstPurchaseAt.Equal(first) ||
		!c.LastPurchaseAt.Equal(last) || math.Abs(c.AvgDaysBetween-avg) > 1e-6 {
		t.Fatalf("customer %s metrics = orders %d, cents %d, first %v, last %v, avg %v; want %d %d %v %v %v",
			c.ExternalID, c.OrdersCount, c.TotalSpentCents, c.FirstPurchaseAt, c.LastPurchaseAt, c.AvgDaysBetween,
			n, cents, first, last, avg)
	}
}

func TestStreamCustomers(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			var in []store.CustomerInput
			for i := range 1234 {
				c := store.CustomerInput{ExternalID: fmt.Sprintf("c%04d", i)}
				if i%10 == 0 {
					c.Tags = []string{fmt.Sprintf("t%d", i)}
				}
				in = append(in, c)
			}
			if _, err := st.UpsertCustomers(ctx, in); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			var last int64
			tagged := 0
			err := st.StreamCustomers(ctx, func(c *store.Customer) error {
				if c.ID <= last {
					t.Fatalf("id %d after %d: not in order", c.ID, last)
				}
				last = c.ID
				seen[c.ExternalID] = true
				if len(c.Tags) > 0 {
					tagged++
					if c.Tags[0] != "t"+strings.TrimLeft(c.ExternalID[1:], "0") && c.ExternalID != "c0000" {
						t.Fatalf("customer %s has tags %v", c.ExternalID, c.Tags)
					}
				}
				return nil
			}, store.StreamOptions{PageSize: 100})
			if err != nil || len(seen) != 1234 || tagged != 124 {
				t.Fatalf("streamed %d customers (%d tagged), err %v; want 1234 (124 tagged)", len(seen), tagged, err)
			}
			// Two shards cover everything exactly once.
			mid := last / 2
			count := 0
			for _, o := range []store.StreamOptions{{UpToID: mid, PageSize: 77}, {AfterID: mid, PageSize: 1000}} {
				if err := st.StreamCustomers(ctx, func(*store.Customer) error { count++; return nil }, o); err != nil {
					t.Fatal(err)
				}
			}
			if count != 1234 {
				t.Fatalf("shards streamed %d, want 1234", count)
			}
			stop := errors.New("stop")
			count = 0
			err = st.StreamCustomers(ctx, func(*store.Customer) error {
				count++
				if count == 5 {
					return stop
				}
				return nil
			}, store.StreamOptions{})
			if !errors.Is(err, stop) || count != 5 {
				t.Fatalf("early stop: err %v after %d rows", err, count)
			}
		})
	}
}

// The two schemas must expose the same tables and columns, so one set of
// queries serves both.
func TestSchemasMatchAcrossDialects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cols := map[store.Dialect]map[string]bool{}
	queries := map[store.Dialect]string{
		// A partition of a table (events_2026_12) is its table on SQLite.
		store.Postgres: `SELECT table_name || '.' || column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name NOT IN (SELECT c.relname FROM pg_class c
			WHERE c.relispartition AND c.relnamespace = current_schema()::regnamespace)`,
		store.SQLite: `SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
			WHERE m.type = 'table'`,
	}
	for _, d := range storetest.Dialects() {
		st := storetest.Open(t, d)
		var names []string
		if err := st.DB.SelectContext(ctx, &names, queries[d]); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		cols[d] = map[string]bool{}
		for _, n := range names {
			cols[d][n] = true
		}
	}
	if len(cols[store.Postgres]) < 60 {
		t.Fatalf("postgres schema has only %d columns", len(cols[store.Postgres]))
	}
	for n := range cols[store.Postgres] {
		if !cols[store.SQLite][n] {
			t.Errorf("column %s exists on postgres but not on sqlite", n)
		}
	}
	for n := range cols[store.SQLite] {
		if !cols[store.Postgres][n] {
			t.Errorf("column %s exists on sqlite but not on postgres", n)
		}
	}
}

// The deliveries ledger only accepts the known statuses.
func TestDeliveryStatusCheck(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "x"}}); err != nil {
				t.Fatal(err)
			}
			c, _ := st.CustomerByExternalID(ctx, "x")
			// Rows written past InsertDeliveries name their period (the
			// partition key on PostgreSQL, migration 0022).
			ins := st.DB.Rebind(`INSERT INTO deliveries (campaign_id, customer_id, occurrence, channel, status, period)
				VALUES (?, ?, ?, 'email', ?, '1970-01-01')`)
			if _, err := st.DB.ExecContext(ctx, ins, "bday", c.ID, "2026", "pending"); err != nil {
				t.Fatalf("pending delivery: %v", err)
			}
			if _, err := st.DB.ExecContext(ctx, ins, "bday", c.ID, "2027", "lost"); err == nil {
				t.Fatal("status 'lost' was accepted, want a CHECK violation")
			}
			if _, err := st.DB.ExecContext(ctx, ins, "bday", c.ID, "2026", "sent"); err == nil {
				t.Fatal("a second delivery for the same campaign, customer and occurrence was accepted")
			}
		})
	}
}
