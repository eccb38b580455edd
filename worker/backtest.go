package worker

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
)

// AsOf is the customer base as it stood at a past clock: every customer's
// purchase metrics (orders_count, total_spent, first/last purchase, average
// gap) and intelligence (RFM, lifecycle, P(alive), expected purchases, CLV,
// 90-day spend windows) computed from the purchases up to At alone. It lives
// in memory (about 100 bytes per customer) so a backtest never writes over
// the live rows; Apply shows a streamed customer as of At.
type AsOf struct {
	At     time.Time
	Report InsightsReport // what the backtest fitted and scored

	afterID, upToID int64
	metricsOnly     bool
	rows            []asOfRow // by id
	names           []string  // interned segment and stage names
	nameIdx         map[string]uint16
}

// asOfRow is one customer as of At, compactly: times in Unix microseconds
// (0 = none), names as indexes into AsOf.names.
type asOfRow struct {
	id                      int64
	first, last, cents      int64
	avg, pAlive, exp90, clv float64
	trend                   float64
	spend90, spendPrev90    int64
	orders, orders90        int32
	ordersPrev90, next      int32
	r, f, m                 uint8
	valueChurn              bool
	seg, stage, tier, abc   uint16
}

// BacktestOptions narrow a Backtest.
type BacktestOptions struct {
	// AfterID, UpToID keep only the customers with id in (AfterID, UpToID]
	// (0 = unbounded), e.g. one for preview; the fit always reads the whole
	// base.
	AfterID, UpToID int64
	// MetricsOnly computes the purchase metrics alone, in one pass without a
	// fit, for an audience whose rule reads no score: Apply then leaves the
	// stored scores as they are.
	MetricsOnly bool
}

// Backtest computes the base as of at: the insights refresh's two passes
// over the purchases up to at (fit on every buyer, score every customer),
// kept in memory instead of stored. Nothing is written to the database.
func Backtest(ctx context.Context, st *store.Store, at time.Time, opts InsightsOptions, bo BacktestOptions) (*AsOf, error) {
	bt := &AsOf{At: at.UTC(), afterID: bo.AfterID, upToID: bo.UpToID, metricsOnly: bo.MetricsOnly,
		names: []string{""}, nameIdx: map[string]uint16{"": 0}}
	if !bo.MetricsOnly {
		rep, err := refreshInsights(ctx, st, at, opts, bt)
		if err != nil {
			return nil, err
		}
		bt.Report = rep
		return bt, nil
	}
	started := time.Now()
	hopts := store.HistoryOptions{Until: bt.At, AfterID: bo.AfterID, UpToID: bo.UpToID, PageSize: opts.PageSize}
	err := st.StreamCustomerHistories(ctx, hopts, func(h *store.CustomerHistory) error {
		bt.keep(h, store.InsightRow{})
		bt.Report.Customers++
		if len(h.Purchases) > 0 {
			bt.Report.Buyers++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	bt.Report.At, bt.Report.Elapsed = bt.At, time.Since(started)
	return bt, nil
}

// keep records one scored customer; the stream gives them in id order.
func (a *AsOf) keep(h *store.CustomerHistory, row store.InsightRow) {
	m := store.MetricsOf(h.Purchases)
	r := asOfRow{id: h.ID, cents: m.TotalSpentCents, avg: m.AvgDaysBetween, orders: int32(m.OrdersCount),
		pAlive: row.PAlive, exp90: row.ExpectedPurchases90d, clv: row.CLV,
		spend90: row.Spend90dCents, spendPrev90: row.SpendPrev90dCents, orders90: int32(row.Orders90d),
		ordersPrev90: int32(row.OrdersPrev90d), trend: row.ValueTrend, valueChurn: row.ValueChurn,
		r: uint8(row.R), f: uint8(row.F), m: uint8(row.M), seg: a.intern(row.Segment), stage: a.intern(row.Lifecycle),
		tier: a.intern(row.Tier), abc: a.intern(row.ABC), next: int32(row.NextPurchaseDays)}
	if m.OrdersCount > 0 {
		r.first, r.last = m.FirstPurchaseAt.UnixMicro(), m.LastPurchaseAt.UnixMicro()
	}
	a.rows = append(a.rows, r)
}

func (a *AsOf) intern(name string) uint16 {
	if i, ok := a.nameIdx[name]; ok {
		return i
	}
	i := uint16(len(a.names)) // segment and stage names: a few dozen, a segment map at most thousands
	a.names, a.nameIdx[name] = append(a.names, name), i
	return i
}

// Apply overwrites c's purchase metrics and intelligence with their values
// as of At. A customer the backtest did not see (created since) had no
// purchase by At: a prospect.
func (a *AsOf) Apply(c *store.Customer) {
	i, ok := slices.BinarySearchFunc(a.rows, c.ID, func(r asOfRow, id int64) int { return cmp.Compare(r.id, id) })
	if !ok {
		store.PurchaseMetrics{}.Apply(c)
		if a.metricsOnly {
			return
		}
		store.InsightRow{Lifecycle: insights.StageProspect, PAlive: 1, ValueTrend: 1, NextPurchaseDays: insights.NoNextPurchase,
			At: a.At}.Apply(c)
		return
	}
	r := &a.rows[i]
	m := store.PurchaseMetrics{OrdersCount: int(r.orders), TotalSpentCents: r.cents, AvgDaysBetween: r.avg}
	if r.orders > 0 {
		m.FirstPurchaseAt, m.LastPurchaseAt = time.UnixMicro(r.first).UTC(), time.UnixMicro(r.last).UTC()
	}
	m.Apply(c)
	if a.metricsOnly {
		return
	}
	store.InsightRow{R: int(r.r), F: int(r.f), M: int(r.m), Segment: a.names[r.seg], Lifecycle: a.names[r.stage],
		PAlive: r.pAlive, ExpectedPurchases90d: r.exp90, CLV: r.clv, Spend90dCents: r.spend90,
		SpendPrev90dCents: r.spendPrev90, Orders90d: int(r.orders90), OrdersPrev90d: int(r.ordersPrev90),
		ValueTrend: r.trend, ValueChurn: r.valueChurn, Tier: a.names[r.tier], ABC: a.names[r.abc],
		NextPurchaseDays: int(r.next), At: a.At}.Apply(c)
}
