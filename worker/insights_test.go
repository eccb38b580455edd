package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// handBase describes a small customer base: who bought what when, relative
// to the refresh clock. Every purchase is at 10:00 UTC, one per day.
type handCustomer struct {
	ext       string
	orders    int
	gapDays   int // between consecutive purchases
	lastDays  int // days from the last purchase to the clock
	amountUSD int64
}

var handNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func handBase() []handCustomer {
	base := []handCustomer{
		{ext: "champ", orders: 12, gapDays: 7, lastDays: 2, amountUSD: 80},      // recent and frequent
		{ext: "declining", orders: 6, gapDays: 30, lastDays: 60, amountUSD: 40}, // late against a monthly rhythm
		{ext: "fading", orders: 10, gapDays: 7, lastDays: 100, amountUSD: 25},   // a weekly buyer gone quiet
		{ext: "newbie", orders: 1, lastDays: 10, amountUSD: 30},
	}
	for i := 1; i <= 16; i++ {
		base = append(base, handCustomer{ext: fmt.Sprintf("filler-%02d", i), orders: 1 + i%4, gapDays: 20,
			lastDays: 20 + 15*i, amountUSD: int64(10 + 7*i)})
	}
	return base
}

// history returns the customer's purchase dates (oldest first).
func (h handCustomer) history(now time.Time) []time.Time {
	day := time.Date(now.Year(), now.Month(), now.Day(), 10, 0, 0, 0, time.UTC)
	last := day.AddDate(0, 0, -h.lastDays)
	out := make([]time.Time, h.orders)
	for i := range out {
		out[i] = last.AddDate(0, 0, -(h.orders-1-i)*h.gapDays)
	}
	return out
}

// seedHandBase stores the base plus one prospect (a customer who never
// bought) and returns store ids by external id.
func seedHandBase(t *testing.T, st *store.Store) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	var in []store.PurchaseInput
	for _, h := range handBase() {
		for i, at := range h.history(handNow) {
			in = append(in, store.PurchaseInput{OrderID: fmt.Sprintf("%s-%d", h.ext, i), CustomerExternalID: h.ext,
				AmountCents: h.amountUSD * 100, OccurredAt: at})
		}
	}
	if _, err := st.UpsertPurchases(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "prospect"}}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for id, ext := range externalIDs(t, st) {
		ids[ext] = id
	}
	return ids
}

// publishedModels are the CDNOW paper's parameters (weeks, dollars), held
// fixed so the expected values below follow from the formulas alone.
var publishedModels = insights.Models{
	BG: insights.BGNBDParams{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426},
	GG: insights.GGParams{P: 6.25, Q: 3.74, V: 15.44},
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// expectedScores computes, for a hand customer at clock now, the model
// inputs from first principles (one purchase per day, weeks) and the model
// outputs from the published parameters.
func expectedScores(h handCustomer, now time.Time) (pAlive, expected, clv float64) {
	dates := h.history(now)
	days := func(a, b time.Time) float64 { return math.Round(b.Sub(a).Hours() / 24) }
	first, last := dates[0], dates[len(dates)-1]
	today := time.Date(now.Year(), now.Month(), now.Day(), 10, 0, 0, 0, time.UTC)
	x, tx, T := float64(h.orders-1), days(first, last)/7, days(first, today)/7
	bg, gg := publishedModels.BG, publishedModels.GG
	mean := 0.0
	if x > 0 {
		mean = float64(h.amountUSD)
	}
	return insights.PAlive(bg, x, tx, T), insights.ExpectedPurchases(bg, 90.0/7, x, tx, T),
		insights.CLVPeriods(bg, gg, x, tx, T, mean, 12, 4.345, 0.01)
}

// TestRefreshStoresScoresRulesSee refreshes a hand-built base with fixed
// model parameters, checks every stored score against the formulas, and
// checks that audience rules evaluated through FillEnv see them: the
// champion, the declining customer, and P(alive) below 0.5 exactly for the
// customers the model says (never the prospect).
func TestRefreshStoresScoresRulesSee(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			ids := seedHandBase(t, st)
			rep, err := RefreshInsights(ctx, st, handNow, InsightsOptions{
				Score: insights.ScoreOptions{Models: &publishedModels}, PageSize: 5, Log: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Customers != 21 || rep.Buyers != 20 || rep.Fitted || rep.ModelID != 0 || rep.StageChanges != 0 {
				t.Fatalf("report %+v: want 21 customers, 20 buyers, nothing fitted, no stage change", rep)
			}
			lowPAlive, byStage := map[string]bool{}, map[string][]string{"prospect": {"prospect"}}
			for _, h := range handBase() {
				pa, ep, clv := expectedScores(h, handNow)
				stage := expectedStage(h, pa, rep.Value.FloorCents)
				c := mustCustomer(t, st, ids[h.ext])
				if math.Abs(c.PAlive-pa) > 1e-9 || math.Abs(c.ExpectedPurchases90d-ep) > 1e-9 ||
					math.Abs(c.CLV-clv) > 1e-6 || c.Lifecycle != stage {
					t.Errorf("%s: stored p_alive %.6f expected %.6f clv %.4f %s, want %.6f %.6f %.4f %s", h.ext,
						c.PAlive, c.ExpectedPurchases90d, c.CLV, c.Lifecycle, pa, ep, clv, stage)
				}
				if pa < 0.5 {
					lowPAlive[h.ext] = true
				}
				byStage[stage] = append(byStage[stage], h.ext)
			}
			if !lowPAlive["fading"] || lowPAlive["champ"] || len(lowPAlive) == len(handBase()) ||
				!slices.Contains(byStage["declining"], "declining") || !slices.Contains(byStage["new"], "newbie") ||
				!slices.Contains(byStage["churned"], "fading") || !slices.Contains(byStage["new"], "champ") {
				t.Fatalf("hand base no longer separates the cases: P(alive) < 0.5 %v, stages %v", lowPAlive, byStage)
			}
			p := mustCustomer(t, st, ids["prospect"])
			if p.Lifecycle != insights.StageProspect || p.PAlive != 1 || p.ExpectedPurchases90d != 0 || p.CLV != 0 ||
				p.RFMR != 0 || p.RFMSegment != "" || !p.InsightsAt.Equal(handNow) {
				t.Errorf("prospect stored as %+v", p)
			}
			for _, tc := range []struct {
				rule string
				want []string
			}{
				{`rfm.segment == "champions"`, []string{"champ"}},
				{`lifecycle == "declining"`, sorted(byStage["declining"])},
				{`lifecycle == "new"`, sorted(byStage["new"])},
				{`lifecycle == "churned"`, sorted(byStage["churned"])},
				{`lifecycle == "prospect"`, []string{"prospect"}},
				{`p_alive < 0.5`, keys(lowPAlive)},
				{`lifecycle == "new" && rfm.score == "555" && clv > 100`, []string{"champ"}}, // 12 weekly orders since 79 days
			} {
				if got := matching(t, st, tc.rule, handNow); !slices.Equal(got, tc.want) {
					t.Errorf("rule %s matches %v, want %v", tc.rule, got, tc.want)
				}
			}
		})
	}
}

// TestRefreshRecordsStageChangesOnce refreshes twice at the same clock (no
// event: a first stage is not a change and nothing moved), then later, when
// some customers have moved on: each move is one lifecycle_changed event
// saying from and to, and repeating that refresh records nothing more.
func TestRefreshRecordsStageChangesOnce(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			seedHandBase(t, st)
			opts := InsightsOptions{Score: insights.ScoreOptions{Models: &publishedModels}, Log: quiet()}
			refresh := func(at time.Time) InsightsReport {
				t.Helper()
				rep, err := RefreshInsights(ctx, st, at, opts)
				if err != nil {
					t.Fatal(err)
				}
				return rep
			}
			refresh(handNow)
			if rep := refresh(handNow); rep.StageChanges != 0 || len(events(t, st)) != 0 {
				t.Fatalf("second refresh at the same clock: %d changes, events %v", rep.StageChanges, events(t, st))
			}
			before := stages(t, st)
			later := handNow.AddDate(0, 0, 40)
			rep := refresh(later)
			after := stages(t, st)
			want := map[int64]string{}
			for id, s := range after {
				if before[id] != s {
					want[id] = fmt.Sprintf(`{"from":%q,"to":%q}`, before[id], s)
				}
			}
			got := events(t, st)
			if len(want) == 0 {
				t.Fatalf("40 days later nobody moved (%v -> %v); the test base is wrong", before, after)
			}
			if rep.StageChanges != len(want) || len(got) != len(want) {
				t.Fatalf("report says %d changes, %d events recorded, want %d: %v", rep.StageChanges, len(got), len(want), got)
			}
			for id, data := range want {
				if got[id] != data {
					t.Errorf("customer %d: event %s, want %s", id, got[id], data)
				}
			}
			if rep := refresh(later); rep.StageChanges != 0 || len(events(t, st)) != len(want) {
				t.Fatalf("repeated refresh recorded %d more changes", rep.StageChanges)
			}
		})
	}
}

// expectedStage applies the documented default lifecycle rules by hand,
// from the customer's purchase dates: new (first purchase within 90 days),
// churned (P(alive) < 0.3, or one purchase day silent past 180 days), declining (one purchase day; silent past
// max(1.5 x own gap, 90 days); or the latest 90 days' spend below half of
// the 90 days before, from a baseline of the floor), growing (the latest 90
// days' spend at least 1.5 x the 90 days before, floored), else mature.
func expectedStage(h handCustomer, pAlive float64, floorCents int64) string {
	first, since := float64(h.lastDays+(h.orders-1)*h.gapDays), float64(h.lastDays)
	var cur, prev int64 // spend of the two windows, in cents
	curOrders := 0
	for k := range h.orders {
		switch age := h.lastDays + k*h.gapDays; { // purchases at 10:00, the clock at 12:00
		case age < 90:
			cur += h.amountUSD * 100
			curOrders++
		case age < 180:
			prev += h.amountUSD * 100
		}
	}
	trend := 1.0
	if cur > 0 || prev > 0 {
		trend = float64(cur) / float64(max(prev, floorCents))
	}
	switch {
	case first <= 90:
		return "new"
	case pAlive < 0.3 || (h.orders == 1 && since > 180):
		return "churned"
	case h.orders == 1 || since > math.Max(1.5*float64(h.gapDays), 90):
		return "declining"
	case prev >= floorCents && trend < 0.5:
		return "declining"
	case curOrders >= 1 && trend >= 1.5:
		return "growing"
	}
	return "mature"
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mustCustomer(t *testing.T, st *store.Store, id int64) *store.Customer {
	t.Helper()
	c, err := st.CustomerByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ids(t *testing.T, st *store.Store) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for id, ext := range externalIDs(t, st) {
		out[ext] = id
	}
	return out
}

// matching evaluates a compiled rule over every stored customer through
// FillEnv, as audiences do, and returns the sorted external ids that match.
func matching(t *testing.T, st *store.Store, rule string, now time.Time) []string {
	t.Helper()
	prg, err := rules.Compile(rule)
	if err != nil {
		t.Fatal(err)
	}
	env := rules.NewEnv(time.UTC)
	env.Now = now
	var out []string
	err = st.StreamCustomers(context.Background(), func(c *store.Customer) error {
		FillEnv(env, c)
		ok, err := prg.Eval(env)
		if ok {
			out = append(out, c.ExternalID)
		}
		return err
	}, store.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func stages(t *testing.T, st *store.Store) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	err := st.StreamCustomers(context.Background(), func(c *store.Customer) error {
		out[c.ID] = c.Lifecycle
		return nil
	}, store.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// events returns the lifecycle_changed events by customer id, data in
// canonical JSON; it fails on two events for one customer.
func events(t *testing.T, st *store.Store) map[int64]string {
	t.Helper()
	rows, err := st.DB.Query(`SELECT customer_id, data FROM customer_events WHERE type = 'lifecycle_changed'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var (
			id   int64
			data []byte
		)
		if err := rows.Scan(&id, &data); err != nil {
			t.Fatal(err)
		}
		var v map[string]string
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[id]; dup {
			t.Errorf("customer %d has two lifecycle_changed events", id)
		}
		out[id] = fmt.Sprintf(`{"from":%q,"to":%q}`, v["from"], v["to"])
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRefreshFitsAndRecordsTheModel lets the refresh fit the hand-built
// base: the recorded model's parameters are the report's, and every stored
// P(alive) is the fitted model's.
func TestRefreshFitsAndRecordsTheModel(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			ids := seedHandBase(t, st)
			rep, err := RefreshInsights(ctx, st, handNow, InsightsOptions{Log: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Fitted || rep.Models.Kind != insights.DefaultCountModel || !rep.Models.CountValid() || !rep.Models.GG.Valid() ||
				rep.Buyers != 20 || rep.RepeatBuyers != 15 {
				t.Fatalf("report %+v", rep)
			}
			m, err := st.LatestInsightsModel(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var p InsightsParams
			if err := json.Unmarshal(m.Params, &p); err != nil {
				t.Fatal(err)
			}
			if m.ID != rep.ModelID || p.Models() != rep.Models || p.UnitDays != 7 ||
				m.Customers != 20 || m.LogLikelihood != rep.LogLikelihood || !m.FittedAt.Equal(handNow) {
				t.Fatalf("recorded model %+v params %+v, report %+v", m, p, rep)
			}
			if ll := rep.Models.LogLikelihood(handRFT(handNow)); math.Abs(ll-rep.LogLikelihood) > 1e-6 {
				t.Errorf("log-likelihood %g, want %g from the hand-built inputs", rep.LogLikelihood, ll)
			}
			total := 0
			for _, h := range handBase() {
				rft := handRFT(handNow)[slices.IndexFunc(handBase(), func(o handCustomer) bool { return o.ext == h.ext })]
				want := rep.Models.PAlive(rft.X, rft.TX, rft.T)
				if got := mustCustomer(t, st, ids[h.ext]).PAlive; math.Abs(got-want) > 1e-9 {
					t.Errorf("%s: stored p_alive %g, fitted model says %g", h.ext, got, want)
				}
			}
			for _, n := range rep.PAliveDeciles {
				total += n
			}
			if total != rep.Buyers || rep.Lifecycle["prospect"] != 1 {
				t.Errorf("deciles %v hold %d buyers, stages %v", rep.PAliveDeciles, total, rep.Lifecycle)
			}
		})
	}
}

// handRFT is the hand-built base's model input, computed by hand.
func handRFT(now time.Time) []insights.RFT {
	var out []insights.RFT
	for _, h := range handBase() {
		d := h.history(now)
		today := time.Date(now.Year(), now.Month(), now.Day(), 10, 0, 0, 0, time.UTC)
		out = append(out, insights.RFT{X: float64(h.orders - 1),
			TX: math.Round(d[len(d)-1].Sub(d[0]).Hours()/24) / 7, T: math.Round(today.Sub(d[0]).Hours()/24) / 7})
	}
	return out
}

// TestRefreshWithoutPurchases: a shop with only prospects (nothing to fit)
// still refreshes: every customer is a prospect with p_alive 1, no model is
// recorded, and the report says why.
func TestRefreshWithoutPurchases(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			if _, err := st.UpsertCustomers(ctx, []store.CustomerInput{{ExternalID: "a"}, {ExternalID: "b"}}); err != nil {
				t.Fatal(err)
			}
			rep, err := RefreshInsights(ctx, st, handNow, InsightsOptions{Log: quiet()})
			if err != nil || rep.Fitted || rep.ModelID != 0 || len(rep.Warnings) != 1 || rep.Lifecycle["prospect"] != 2 {
				t.Fatalf("report %+v (%v)", rep, err)
			}
			if _, err := st.LatestInsightsModel(ctx); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a model was recorded: %v", err)
			}
			if got := matching(t, st, `lifecycle == "prospect" && p_alive == 1 && clv == 0`, handNow); len(got) != 2 {
				t.Errorf("prospects stored as %v", got)
			}
		})
	}
}
