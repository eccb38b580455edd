package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// wireEdgeSQL writes the values a hand-written binary decoder gets wrong
// first: NULLs, infinities, times and dates before PostgreSQL's 2000 epoch
// (negative offsets) with fractional microseconds, extreme integers, JSON.
const wireEdgeSQL = `INSERT INTO customers (external_id, email, phone, first_name, last_name, locale, time_zone,
		birthday, email_consent, sms_consent, tags, attributes, orders_count, total_spent_cents,
		first_purchase_at, last_purchase_at, avg_days_between, rfm_r, rfm_f, rfm_m, rfm_segment, lifecycle,
		p_alive, expected_purchases_90d, clv, insights_at) VALUES
	('w1', 'a@example.com', '+33612345678', 'Zoë', 'Ünal', 'fr-FR', 'Europe/Paris',
		'1969-12-31', true, false, '["vip", "b"]', '{"tier": "gold", "n": 2.5, "x": {"y": [1]}}', 2147483647, -9223372036854775808,
		'1999-12-31 23:59:59.999999+00', '2026-01-14 09:30:00.123456+02', -1.5, 5, 4, 3, 'champions', 'loyal',
		0.999, 1e-9, 1e300, 'infinity'),
	('w2', '', '', '', '', '', '', NULL, false, true, '[]', '{}', 0, 0, NULL, NULL, 0, 0, 0, 0, '', '', 0, 0, 0, NULL),
	('w3', 'c@example.com', '', 'A', 'B', 'en', 'America/New_York', '1900-02-28', false, false, '[]', '{}', -1, 42,
		'-infinity', '1850-06-01 12:00:00.5-05', 3.25, 1, 1, 1, 'lost', 'churned', 0, 0, -7, '2000-01-01 00:00:00+00'),
	('w4', 'd@example.com', '', '', '', '', '', '2000-02-29', true, true, '["x"]', '{"k": null}', 1, 1,
		'2000-01-01 00:00:00.000001+00', '2000-01-01 00:00:00+00', 0, 32767, -32768, 0, 'new', 'new', 1, 2, 3, NULL)`

// TestWireDecodeMatchesScan proves the binary decoder reads every column
// exactly as pgx's Scan does, full rows and projections alike.
func TestWireDecodeMatchesScan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.Postgres)
	if _, err := st.DB.ExecContext(ctx, wireEdgeSQL); err != nil {
		t.Fatal(err)
	}
	read := func(cols []string) []store.Customer {
		var out []store.Customer
		err := st.StreamCustomers(ctx, func(c *store.Customer) error {
			cp := *c
			cp.Tags = slices.Clone(c.Tags)
			if len(c.Attributes) > 0 {
				cp.Attributes = map[string]any{}
				for k, v := range c.Attributes {
					cp.Attributes[k] = v
				}
			} else {
				cp.Attributes = nil
			}
			if len(cp.Tags) == 0 {
				cp.Tags = nil
			}
			out = append(out, cp)
			return nil
		}, store.StreamOptions{Columns: cols, PageSize: 3})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, cols := range [][]string{nil, {"last_purchase_at", "orders_count", "rfm_segment", "p_alive", "email_consent"},
		{"birthday", "time_zone", "tags"}} {
		wire := read(cols)
		enable := store.DisableWire()
		scan := read(cols)
		enable()
		if len(wire) != 4 || !reflect.DeepEqual(wire, scan) {
			t.Fatalf("columns %v:\nwire %+v\nscan %+v", cols, wire, scan)
		}
	}
	full := read(nil)
	w1 := full[0]
	if w1.Birthday != time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC) || w1.FirstName != "Zoë" ||
		w1.FirstPurchaseAt != time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC) || !w1.InsightsAt.IsZero() ||
		w1.OrdersCount != 2147483647 || w1.RFMSegment != "champions" || w1.Attributes["tier"] != "gold" {
		t.Fatalf("w1 decoded as %+v", w1)
	}
	if w3 := full[2]; !w3.FirstPurchaseAt.IsZero() || w3.LastPurchaseAt != time.Date(1850, 6, 1, 17, 0, 0, 5e8, time.UTC) {
		t.Fatalf("w3 times decoded as %v, %v", w3.FirstPurchaseAt, w3.LastPurchaseAt)
	}
}

// TestCustomersByID reads some customers' columns by id on both stores, in
// id order, skipping ids that do not exist, and AfterPage runs once a page.
func TestCustomersByID(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			var in []store.CustomerInput
			for i := range 250 {
				email, consent := fmt.Sprintf("c%d@example.com", i), i%2 == 0
				in = append(in, store.CustomerInput{ExternalID: fmt.Sprintf("c%03d", i), Email: &email, EmailConsent: &consent})
			}
			if _, err := st.UpsertCustomers(ctx, in); err != nil {
				t.Fatal(err)
			}
			var ids []int64
			pages, rows := 0, 0
			err := st.StreamCustomers(ctx, func(c *store.Customer) error {
				rows++
				if c.Email != "" {
					t.Fatalf("email read though not asked for: %+v", c)
				}
				if rows%7 == 0 {
					ids = append(ids, c.ID)
				}
				return nil
			}, store.StreamOptions{Columns: []string{"external_id"}, PageSize: 100, AfterPage: func() error { pages++; return nil }})
			if err != nil || rows != 250 || pages != 3 {
				t.Fatalf("streamed %d rows in %d pages, %v; want 250 in 3", rows, pages, err)
			}
			ask := append(slices.Clone(ids), 1<<40) // one that does not exist
			slices.Reverse(ask)
			var got []int64
			err = st.CustomersByID(ctx, ask, []string{"email", "email_consent"}, func(c *store.Customer) error {
				want, _ := st.CustomerByID(ctx, c.ID)
				if c.Email != want.Email || c.EmailConsent != want.EmailConsent || c.ExternalID != "" {
					t.Fatalf("customer %d read as %+v; want email %s, consent %v and no external id", c.ID, c, want.Email, want.EmailConsent)
				}
				got = append(got, c.ID)
				return nil
			})
			if err != nil || !slices.Equal(got, ids) {
				t.Fatalf("read ids %v, %v; want %v", got, err, ids)
			}
			stop := errors.New("stop")
			err = st.StreamCustomers(ctx, func(*store.Customer) error { return nil },
				store.StreamOptions{PageSize: 100, AfterPage: func() error { return stop }})
			if !errors.Is(err, stop) {
				t.Fatalf("AfterPage error: got %v", err)
			}
			if err := st.CustomersByID(ctx, nil, nil, nil); err != nil {
				t.Fatalf("no ids: %v", err)
			}
		})
	}
}
