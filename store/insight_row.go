package store

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"

	"github.com/tidings-crm/tidings/customer"
)

// InsightRow is one customer's intelligence as a refresh writes it: a field
// for each column the registry says the refresh sets (customer.Insights),
// tagged with its column. Scores follow the conventions at the top of
// insights.go.
type InsightRow struct {
	CustomerID           int64
	R                    int       `db:"rfm_r"` // 1-5; 0 for prospects
	F                    int       `db:"rfm_f"`
	M                    int       `db:"rfm_m"`
	Segment              string    `db:"rfm_segment"` // "" for prospects
	Lifecycle            string    `db:"lifecycle"`
	PAlive               float64   `db:"p_alive"`
	ExpectedPurchases90d float64   `db:"expected_purchases_90d"`
	CLV                  float64   `db:"clv"`
	Spend90dCents        int64     `db:"spend_90d_cents"` // see insights.ValueWindows
	SpendPrev90dCents    int64     `db:"spend_prev_90d_cents"`
	Orders90d            int       `db:"orders_90d"`
	OrdersPrev90d        int       `db:"orders_prev_90d"`
	ValueTrend           float64   `db:"value_trend"` // see insights.ValueChurnRule
	ValueChurn           bool      `db:"value_churn"`
	Tier                 string    `db:"tier"`               // see insights.Tiers
	ABC                  string    `db:"abc"`                // see insights.ABC
	NextPurchaseDays     int       `db:"next_purchase_days"` // see insights.NextPurchaseDays
	At                   time.Time `db:"insights_at"`        // the refresh clock
}

// insightColumn is one column the refresh writes: its InsightRow field and
// its Customer field.
type insightColumn struct {
	name     string
	typ      customer.Type
	row, cus []int
}

// insightSchema binds the registry's Insights columns to InsightRow and
// Customer fields, once; a column without its InsightRow field is a
// programming error the registry's test names.
var insightSchema = sync.OnceValue(func() []insightColumn {
	cols, err := bindInsights()
	if err != nil {
		panic(err)
	}
	return cols
})

func bindInsights() ([]insightColumn, error) {
	t := reflect.TypeFor[InsightRow]()
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("db"); tag != "" {
			fields[tag] = t.Field(i)
		}
	}
	s := schema()
	var cols []insightColumn
	for _, c := range s.cols {
		if f, _ := customer.ByColumn(c.name); f.Set != customer.Insights {
			continue
		}
		sf, ok := fields[c.name]
		if !ok || sf.Type != c.typ.GoType() {
			return nil, fmt.Errorf("store: column %s is set by the insights refresh (customer.Fields): "+
				"InsightRow needs a field of type %s tagged db:%q", c.name, c.typ.GoType(), c.name)
		}
		delete(fields, c.name)
		cols = append(cols, insightColumn{name: c.name, typ: c.typ, row: sf.Index, cus: c.index})
	}
	for tag, sf := range fields {
		return nil, fmt.Errorf("store: InsightRow.%s (db:%q) is not a column the refresh sets in customer.Fields", sf.Name, tag)
	}
	return cols, nil
}

// Apply sets c's intelligence columns to r, as SaveInsights would store them
// (a backtest scores in memory and shows rules this view).
func (r InsightRow) Apply(c *Customer) {
	src, dst := reflect.ValueOf(r), reflect.ValueOf(c).Elem()
	for _, col := range insightSchema() {
		dst.FieldByIndex(col.cus).Set(src.FieldByIndex(col.row))
	}
}

// validInsight refuses a row the refresh must never store: a non-finite
// number, RFM scores outside 0-5, no stage or clock.
func validInsight(r InsightRow) error {
	v := reflect.ValueOf(r)
	for _, col := range insightSchema() {
		if f := v.FieldByIndex(col.row); f.Kind() == reflect.Float64 && (math.IsNaN(f.Float()) || math.IsInf(f.Float(), 0)) {
			return errors.New("scores must be finite numbers")
		}
	}
	if r.R < 0 || r.R > 5 || r.F < 0 || r.F > 5 || r.M < 0 || r.M > 5 {
		return fmt.Errorf("RFM scores %d%d%d out of range 0-5", r.R, r.F, r.M)
	}
	if r.Lifecycle == "" || r.At.IsZero() {
		return errors.New("a lifecycle stage and a refresh time are required")
	}
	return nil
}
