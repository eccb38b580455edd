package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestStreamCustomerHistories checks paging, ordering and the clock: every
// customer once in id order (prospects too, with no purchases), purchases in
// time order whatever the insertion order, none after Until, shard bounds.
func TestStreamCustomerHistories(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2026, 1, d, 9, 0, 0, 0, time.UTC) }
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "p0"}}); err != nil {
				t.Fatal(err)
			}
			var in []store.PurchaseInput
			for c := 1; c <= 7; c++ {
				for k := c; k >= 1; k-- { // newest first
					in = append(in, store.PurchaseInput{OrderID: fmt.Sprintf("o%d-%d", c, k),
						CustomerExternalID: fmt.Sprintf("c%d", c), AmountCents: int64(100*c + k), OccurredAt: day(k * 3)})
				}
			}
			if _, err := st.UpsertPurchases(ctx, in); err != nil {
				t.Fatal(err)
			}
			type seen struct {
				id int64
				n  int
			}
			read := func(opts store.HistoryOptions) []seen {
				var out []seen
				err := st.StreamCustomerHistories(ctx, opts, func(h *store.CustomerHistory) error {
					for i, p := range h.Purchases {
						if (i > 0 && p.OccurredAt.Before(h.Purchases[i-1].OccurredAt)) || (!opts.Until.IsZero() && p.OccurredAt.After(opts.Until)) {
							t.Errorf("customer %d: purchases %v out of order or after %s", h.ID, h.Purchases, opts.Until)
						}
						if want := day(3 * (i + 1)); !p.OccurredAt.Equal(want) || p.AmountCents%100 != int64(i+1) {
							t.Errorf("customer %d purchase %d: %+v, want at %s", h.ID, i, p, want)
						}
					}
					out = append(out, seen{h.ID, len(h.Purchases)})
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			all := read(store.HistoryOptions{PageSize: 3})
			if len(all) != 8 || all[0].n != 0 {
				t.Fatalf("streamed %v, want the prospect then 7 buyers", all)
			}
			for i := 1; i < len(all); i++ {
				if all[i].id <= all[i-1].id || all[i].n != i {
					t.Fatalf("streamed %v: want ids ascending and customer ci with i purchases", all)
				}
			}
			// Until day 9 keeps purchases on days 3, 6, 9: at most 3 each.
			for i, s := range read(store.HistoryOptions{Until: day(9), PageSize: 2}) {
				if want := min(i, 3); s.n != want {
					t.Errorf("until day 9: customer %d has %d purchases, want %d", s.id, s.n, want)
				}
			}
			shard := read(store.HistoryOptions{AfterID: all[2].id, UpToID: all[5].id, PageSize: 2})
			if len(shard) != 3 || shard[0] != all[3] || shard[2] != all[5] {
				t.Errorf("shard (%d, %d] streamed %v", all[2].id, all[5].id, shard)
			}
			stop := errors.New("stop")
			n := 0
			err := st.StreamCustomerHistories(ctx, store.HistoryOptions{PageSize: 3}, func(*store.CustomerHistory) error {
				if n++; n == 4 {
					return stop
				}
				return nil
			})
			if !errors.Is(err, stop) || n != 4 {
				t.Errorf("stream after fn error: %v after %d calls, want stop after 4", err, n)
			}
		})
	}
}

// TestSaveInsights writes more than one statement's worth of rows in one
// call, checks they are stored as given, that a first stage is not a
// change but a later one is recorded once with from/to, that rows for
// deleted customers are skipped, and that bad values are refused whole.
func TestSaveInsights(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			const n = 1203
			in := make([]store.CustomerInput, n)
			for i := range in {
				in[i].ExternalID = fmt.Sprintf("c%04d", i)
			}
			if _, err := st.UpsertCustomers(ctx, in); err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 2, 1, 6, 0, 0, 0, time.UTC)
			rows := make([]store.InsightRow, 0, n+1)
			for i := 1; i <= n; i++ {
				rows = append(rows, store.InsightRow{CustomerID: int64(i), R: 1 + i%5, F: 1 + i/5%5, M: 1 + i/25%5,
					Segment: fmt.Sprintf("seg%d", i%3), Lifecycle: "mature", PAlive: float64(i%10) / 10,
					ExpectedPurchases90d: float64(i) / 1000, CLV: float64(i) * 1.5, At: at})
			}
			rows = append(rows, store.InsightRow{CustomerID: 999999, Lifecycle: "new", At: at}) // no such customer
			changes, err := st.SaveInsights(ctx, rows)
			if err != nil || len(changes) != 0 {
				t.Fatalf("first save: %v, %v; want no error and no change (first stage)", changes, err)
			}
			for _, id := range []int64{1, 500, 501, 1203} {
				c, err := st.CustomerByID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				r := rows[id-1]
				if c.RFMR != r.R || c.RFMF != r.F || c.RFMM != r.M || c.RFMSegment != r.Segment || c.Lifecycle != r.Lifecycle ||
					c.PAlive != r.PAlive || c.ExpectedPurchases90d != r.ExpectedPurchases90d || c.CLV != r.CLV ||
					!c.InsightsAt.Equal(at) {
					t.Errorf("customer %d stored %+v, want %+v", id, c, r)
				}
			}
			later := at.Add(24 * time.Hour)
			move := []store.InsightRow{{CustomerID: 7, Lifecycle: "declining", R: 2, F: 2, M: 2, Segment: "at_risk", PAlive: 0.4, At: later},
				{CustomerID: 8, Lifecycle: "mature", PAlive: 0.9, At: later}}
			for round := range 2 {
				changes, err = st.SaveInsights(ctx, move)
				want := []store.Change{{CustomerID: 7, Type: store.LifecycleChangedEvent, From: "mature", To: "declining",
					EventID: "lifecycle_changed:7:2026-02-02T06:00:00Z", External: "c0006"}}
				if round == 1 {
					want = nil
				}
				if err != nil || fmt.Sprint(changes) != fmt.Sprint(want) {
					t.Fatalf("round %d: changes %v (%v), want %v", round, changes, err, want)
				}
			}
			var data []byte
			var cnt int
			if err := st.DB.QueryRowContext(ctx, `SELECT count(*) FROM customer_events`).Scan(&cnt); err != nil || cnt != 1 {
				t.Fatalf("%d events (%v), want 1", cnt, err)
			}
			if err := st.DB.QueryRowContext(ctx, st.DB.Rebind(`SELECT data FROM customer_events WHERE customer_id = ? AND type = ?`),
				7, store.LifecycleChangedEvent).Scan(&data); err != nil {
				t.Fatal(err)
			}
			var ev map[string]string
			if err := json.Unmarshal(data, &ev); err != nil || ev["from"] != "mature" || ev["to"] != "declining" {
				t.Fatalf("event data %s (%v)", data, err)
			}
			// The change is an event of the log too, with its inbox row
			// waiting for its reaction, in the shape of a posted event.
			evs, err := st.CustomerEvents(ctx, 7, store.LifecycleChangedEvent, 10)
			if err != nil || len(evs) != 1 || !evs[0].OccurredAt.Equal(later) ||
				evs[0].EventID != "lifecycle_changed:7:2026-02-02T06:00:00Z" {
				t.Fatalf("events log of customer 7: %+v (%v), want one lifecycle_changed at %s", evs, err, later)
			}
			var props map[string]string
			if err := json.Unmarshal(evs[0].Properties, &props); err != nil || props["from"] != "mature" || props["to"] != "declining" {
				t.Fatalf("event properties %s (%v)", evs[0].Properties, err)
			}
			inbox, err := st.InboxEvent(ctx, evs[0].EventID)
			if err != nil || inbox.Status != store.InboxReceived || inbox.EventType != store.LifecycleChangedEvent {
				t.Fatalf("inbox row %+v (%v), want a received lifecycle_changed", inbox, err)
			}
			var payload struct {
				ID, Type, Customer string
				Time               time.Time
			}
			if err := json.Unmarshal(inbox.Payload, &payload); err != nil || payload.Customer != "c0006" ||
				payload.Type != store.LifecycleChangedEvent || !payload.Time.Equal(later) || payload.ID != evs[0].EventID {
				t.Fatalf("inbox payload %s (%v)", inbox.Payload, err)
			}
			for _, bad := range []store.InsightRow{
				{CustomerID: 9, Lifecycle: "mature", PAlive: math.NaN(), At: later},
				{CustomerID: 9, Lifecycle: "mature", CLV: math.Inf(1), At: later},
				{CustomerID: 9, Lifecycle: "mature", R: 6, At: later},
				{CustomerID: 9, Lifecycle: "", At: later},
			} {
				if _, err := st.SaveInsights(ctx, []store.InsightRow{{CustomerID: 10, Lifecycle: "growing", At: later}, bad}); err == nil {
					t.Errorf("SaveInsights accepted %+v", bad)
				}
			}
			if c, _ := st.CustomerByID(ctx, 10); c.Lifecycle != "mature" {
				t.Errorf("a refused batch changed customer 10 to %q", c.Lifecycle)
			}
		})
	}
}

// TestInsightsModelsAndSummary records two models (the latest wins) and
// counts the stored scores per segment, stage and P(alive) decile.
func TestInsightsModelsAndSummary(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			if _, err := st.LatestInsightsModel(ctx); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("latest model of an empty store: %v, want ErrNotFound", err)
			}
			at := time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
			for i, p := range []string{`{"bgnbd": {"R": 1}}`, `{"bgnbd": {"R": 0.243}}`} {
				if _, err := st.SaveInsightsModel(ctx, store.InsightsModel{FittedAt: at.AddDate(0, 0, -i), Params: json.RawMessage(p),
					Customers: 2357, LogLikelihood: -9582.43}); err != nil {
					t.Fatal(err)
				}
			}
			m, err := st.LatestInsightsModel(ctx)
			if err != nil || m.ID != 2 || string(m.Params) != `{"bgnbd":{"R":0.243}}` || !m.FittedAt.Equal(at.AddDate(0, 0, -1)) ||
				m.Customers != 2357 || m.LogLikelihood != -9582.43 || m.CreatedAt.IsZero() {
				t.Fatalf("latest model %+v (%v)", m, err)
			}
			in := make([]store.CustomerInput, 8)
			for i := range in {
				in[i].ExternalID = fmt.Sprintf("c%d", i)
			}
			if _, err := st.UpsertCustomers(ctx, in); err != nil {
				t.Fatal(err)
			}
			rows := []store.InsightRow{
				{CustomerID: 1, Lifecycle: "prospect", PAlive: 1, At: at},
				{CustomerID: 2, R: 5, F: 5, M: 5, Segment: "champions", Lifecycle: "loyal", PAlive: 1, At: at},
				{CustomerID: 3, R: 5, F: 4, M: 1, Segment: "champions", Lifecycle: "active", PAlive: 0.95, At: at},
				{CustomerID: 4, R: 1, F: 1, M: 1, Segment: "lost", Lifecycle: "churned", PAlive: 0.05, At: at},
				{CustomerID: 5, R: 1, F: 3, M: 2, Segment: "at_risk", Lifecycle: "declining", PAlive: 0.3, At: at},
				{CustomerID: 6, R: 2, F: 3, M: 2, Segment: "at_risk", Lifecycle: "declining", PAlive: 0.39999, At: at},
			}
			if _, err := st.SaveInsights(ctx, rows); err != nil {
				t.Fatal(err)
			}
			sum, err := st.InsightsSummary(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := store.InsightsSummary{Customers: 8, Scored: 6, LastAt: at,
				Segments:      []store.NameCount{{"at_risk", 2}, {"champions", 2}, {"lost", 1}},
				Lifecycle:     []store.NameCount{{"declining", 2}, {"active", 1}, {"churned", 1}, {"loyal", 1}, {"prospect", 1}},
				PAliveDeciles: [10]int{1, 0, 0, 2, 0, 0, 0, 0, 0, 2}}
			if fmt.Sprint(sum) != fmt.Sprint(want) || !sum.LastAt.Equal(at) {
				t.Fatalf("summary\n%+v\nwant\n%+v", sum, want)
			}
		})
	}
}
