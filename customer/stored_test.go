package customer_test

import (
	"context"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/customer"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/imports"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/store/synth"
	"github.com/tidings-crm/tidings/worker"
)

// checkMigrations: the migrated customers table has exactly the registry's
// columns, each of a type the registry allows in the dialect.
func checkMigrations(t *testing.T, d store.Dialect) {
	st := storetest.Open(t, d)
	q := map[store.Dialect]string{
		store.Postgres: `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'customers'`,
		store.SQLite: `SELECT name, type FROM pragma_table_info('customers')`,
	}[d]
	rows, err := st.DB.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		have[name] = typ
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, f := range customer.Fields {
		if f.Column == "" {
			continue
		}
		typ, ok := have[f.Column]
		want := f.Type.SQLType(string(d))
		switch {
		case !ok:
			t.Errorf("no migration adds column %s to customers: write one for both dialects, declaring it %s here", f.Column, want[0])
		case !slices.Contains(want, typ):
			t.Errorf("column %s is %s in %s; customer.Fields makes it a %s, declared %s", f.Column, typ, d, f.Type,
				strings.Join(want, " or "))
		}
		delete(have, f.Column)
	}
	for col := range have {
		t.Errorf("customers column %s is not in customer.Fields: add it there", col)
	}
}

// checkImport imports one row of every import column, the registry's
// example cells, and reads each back.
func checkImport(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	st := storetest.Open(t, d)
	var cells []string
	for _, col := range customer.ImportColumns() {
		f, _ := customer.ByColumn(col)
		cells = append(cells, f.Example)
	}
	file := strings.Join(customer.ImportColumns(), ",") + "\n" + strings.Join(cells, ",") + "\n"
	sum, err := imports.Customers(ctx, st, strings.NewReader(file), imports.Options{})
	if err != nil || sum.RejectedCount > 0 {
		t.Fatalf("importing the registry's example cells: %v %v\n%s", err, sum.Rejected, file)
	}
	ext, _ := customer.ByColumn("external_id")
	c, err := st.CustomerByExternalID(ctx, ext.Example)
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(c).Elem()
	for _, col := range customer.ImportColumns() {
		if field(t, v, col).IsZero() {
			t.Errorf("imports.Customers did not store column %s: give it a case in setCustomerField "+
				"(store/imports/customers.go), a field in store.CustomerInput and its write in store/upsert_customers.go", col)
		}
	}
}

// checkSaveInsights writes a row with every field set and reads it back;
// InsightRow.Apply shows the same.
func checkSaveInsights(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	st := storetest.Open(t, d)
	if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "scored"}}); err != nil {
		t.Fatal(err)
	}
	before, err := st.CustomerByExternalID(ctx, "scored")
	if err != nil {
		t.Fatal(err)
	}
	row := store.InsightRow{CustomerID: before.ID}
	rv := reflect.ValueOf(&row).Elem()
	cols := customer.SetBy(customer.Insights)
	for _, col := range cols {
		f, _ := customer.ByColumn(col)
		field(t, rv, col).Set(reflect.ValueOf(sample(t, f.Type)))
	}
	if _, err := st.SaveInsights(ctx, []store.InsightRow{row}); err != nil {
		t.Fatal(err)
	}
	after, err := st.CustomerByID(ctx, before.ID)
	if err != nil {
		t.Fatal(err)
	}
	shown := *before
	row.Apply(&shown)
	for _, col := range cols {
		want := field(t, rv, col).Interface()
		if got := field(t, reflect.ValueOf(after).Elem(), col).Interface(); !same(got, want) {
			t.Errorf("store.SaveInsights stored %s = %v, want %v", col, got, want)
		}
		if got := field(t, reflect.ValueOf(&shown).Elem(), col).Interface(); !same(got, want) {
			t.Errorf("store.InsightRow.Apply sets %s = %v, want %v", col, got, want)
		}
	}
}

// checkPurchaseMetrics writes two purchases through each writer of the
// purchase metrics (UpsertPurchases, the webhook's AcceptEvents) and holds
// every purchases column to MetricsOf, the backtest's view.
func checkPurchaseMetrics(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	st := storetest.Open(t, d)
	t0 := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	points := []store.PurchasePoint{{OccurredAt: t0, AmountCents: 1999}, {OccurredAt: t0.AddDate(0, 0, 10), AmountCents: 2501}}
	var buys []store.PurchaseInput
	var events []store.InboxEvent
	for i, p := range points {
		in := store.PurchaseInput{OrderID: "u" + string(rune('1'+i)), CustomerExternalID: "upserted",
			AmountCents: p.AmountCents, OccurredAt: p.OccurredAt}
		buys = append(buys, in)
		in.OrderID, in.CustomerExternalID = "w"+string(rune('1'+i)), "webhook"
		events = append(events, store.InboxEvent{EventID: in.OrderID, EventType: "purchase", Purchase: in})
	}
	if _, err := st.UpsertPurchases(ctx, buys); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcceptEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"upserted", "webhook"} {
		c, err := st.CustomerByExternalID(ctx, ext)
		if err != nil {
			t.Fatal(err)
		}
		shown := *c
		store.MetricsOf(points).Apply(&shown)
		for _, col := range customer.SetBy(customer.Purchases) {
			got, want := field(t, reflect.ValueOf(c).Elem(), col), field(t, reflect.ValueOf(&shown).Elem(), col)
			if got.IsZero() {
				t.Errorf("%s: column %s is zero after two purchases: compute it where the store recomputes the "+
					"purchase metrics (store/purchases.go, store/inbox_pg.go)", ext, col)
			}
			if !same(got.Interface(), want.Interface()) {
				t.Errorf("%s: column %s stored %v, store.MetricsOf and PurchaseMetrics.Apply give %v", ext, col, got, want)
			}
		}
	}
}

// checkBacktest: a backtest as of the refresh clock shows every purchases
// and insights column as the refresh stored it.
func checkBacktest(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	st := storetest.Open(t, d)
	if _, err := synth.EnsureHistories(ctx, st, 300, 7, envNow); err != nil {
		t.Fatal(err)
	}
	opts := worker.InsightsOptions{Log: slog.New(slog.DiscardHandler)}
	if _, err := worker.RefreshInsights(ctx, st, envNow, opts); err != nil {
		t.Fatal(err)
	}
	bt, err := worker.Backtest(ctx, st, envNow, opts, worker.BacktestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cols := append(customer.SetBy(customer.Purchases), customer.SetBy(customer.Insights)...)
	bad := map[string]int{}
	err = st.StreamCustomers(ctx, func(c *store.Customer) error {
		shown := *c
		bt.Apply(&shown)
		for _, col := range cols {
			if !same(field(t, reflect.ValueOf(c).Elem(), col).Interface(), field(t, reflect.ValueOf(&shown).Elem(), col).Interface()) {
				bad[col]++
			}
		}
		return nil
	}, store.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range cols {
		if bad[col] > 0 {
			t.Errorf("worker.Backtest shows column %s unlike the refresh stored it for %d of 300 customers: "+
				"keep it in worker/backtest.go (asOfRow, keep, Apply)", col, bad[col])
		}
	}
}
