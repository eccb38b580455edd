package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tidings-crm/tidings/insights"
)

// CustomersOverview is the base as the latest insights refresh left it, for
// the dashboard's Customers page: customers per lifecycle stage and the
// moves between stages that refresh recorded, the RFM recency x frequency
// grid with counts and revenue, the distributions of P(alive) and CLV, and
// the loyalty tiers and ABC classes.
type CustomersOverview struct {
	At        time.Time   // the latest refresh clock (zero when none)
	Customers int         // every customer
	Stages    []NameCount // per lifecycle stage, largest first
	Flows     []Flow      // the stage changes of the latest refresh, largest first
	// Grid[r-1][f-1] is the RFM cell of recency score r and frequency
	// score f (scored buyers only).
	Grid          [5][5]GridCell
	PAliveDeciles [10]int     // scored buyers by P(alive) in [k/10, (k+1)/10)
	CLV           []NameCount // scored buyers per CLV band, in CLVBands order
	Tiers, ABC    []NameCount
	// Calibration is the forecast check of the latest refresh that
	// computed one (worker.InsightsOptions.CalibrationWeeks), or its note
	// saying why there is none; zero when no refresh was asked for one.
	Calibration insights.CalibrationRecord
}

// Flow is the number of customers the latest refresh moved from one stage
// to another.
type Flow struct {
	From, To string
	Count    int
}

// GridCell is one RFM cell: its customers, their revenue (total spent, in
// cents) and the segment most of them carry.
type GridCell struct {
	Customers    int
	RevenueCents int64
	Segment      string
}

// CLVBands are the CLV bands of CustomersOverview.CLV, in currency units:
// a band holds values from its bound up to the next one.
var CLVBands = []struct {
	Name string
	From float64
}{{"0", 0}, {"0-10", 0.005}, {"10-50", 10}, {"50-100", 50}, {"100-250", 100}, {"250-500", 250}, {"500-1,000", 500},
	{"1,000+", 1000}}

// clvBandExpr is the SQL of a customer's CLV band index (constant, not input).
func clvBandExpr() string {
	expr := "CASE"
	for i := len(CLVBands) - 1; i > 0; i-- {
		expr += fmt.Sprintf(" WHEN clv >= %g THEN %d", CLVBands[i].From, i)
	}
	return expr + " ELSE 0 END"
}

// CustomersOverview reads the overview from the stored scores.
func (s *Store) CustomersOverview(ctx context.Context) (CustomersOverview, error) {
	var ov CustomersOverview
	sum, err := s.InsightsSummary(ctx)
	if err != nil {
		return ov, err
	}
	ov.At, ov.Customers, ov.Stages, ov.PAliveDeciles = sum.LastAt, sum.Customers, sum.Lifecycle, sum.PAliveDeciles
	scored := `insights_at IS NOT NULL AND lifecycle <> 'prospect'`
	bands, err := s.countBy(ctx, clvBandExpr(), scored)
	if err != nil {
		return ov, err
	}
	ov.CLV = make([]NameCount, len(CLVBands))
	for i, b := range CLVBands {
		ov.CLV[i].Name = b.Name
	}
	for _, b := range bands {
		var k int
		if _, err := fmt.Sscan(b.Name, &k); err == nil && k >= 0 && k < len(CLVBands) {
			ov.CLV[k].Count += b.Count
		}
	}
	if ov.Tiers, err = s.countBy(ctx, `tier`, `tier <> ''`); err != nil {
		return ov, err
	}
	if ov.ABC, err = s.countBy(ctx, `abc`, `abc <> ''`); err != nil {
		return ov, err
	}
	sort.Slice(ov.ABC, func(i, j int) bool { return ov.ABC[i].Name < ov.ABC[j].Name })
	if err := s.rfmGrid(ctx, &ov); err != nil {
		return ov, err
	}
	if ov.Calibration, err = s.latestCalibration(ctx); err != nil {
		return ov, err
	}
	if !ov.At.IsZero() {
		if ov.Flows, err = s.stageFlows(ctx, ov.At); err != nil {
			return ov, err
		}
	}
	return ov, nil
}

// rfmGrid fills the grid: per (R, F) cell, customers, revenue and the
// segment of most of them.
func (s *Store) rfmGrid(ctx context.Context, ov *CustomersOverview) error {
	rows, err := s.DB.QueryContext(ctx, `SELECT rfm_r, rfm_f, rfm_segment, count(*), CAST(sum(total_spent_cents) AS BIGINT)
		FROM customers WHERE rfm_r BETWEEN 1 AND 5 AND rfm_f BETWEEN 1 AND 5 GROUP BY rfm_r, rfm_f, rfm_segment`)
	if err != nil {
		return fmt.Errorf("store: customers overview: RFM grid: %w", err)
	}
	defer rows.Close()
	most := [5][5]int{}
	for rows.Next() {
		var (
			r, f, n int
			seg     string
			cents   int64
		)
		if err := rows.Scan(intInto{&r}, intInto{&f}, &seg, intInto{&n}, int64Into{&cents}); err != nil {
			return fmt.Errorf("store: customers overview: RFM grid: %w", err)
		}
		c := &ov.Grid[r-1][f-1]
		c.Customers += n
		c.RevenueCents += cents
		if n > most[r-1][f-1] {
			most[r-1][f-1], c.Segment = n, seg
		}
	}
	return rows.Err()
}

// stageFlows counts the lifecycle changes recorded by the refresh of at.
func (s *Store) stageFlows(ctx context.Context, at time.Time) ([]Flow, error) {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT data FROM customer_events
		WHERE type = ? AND occurred_at = ?`), LifecycleChangedEvent, at.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: customers overview: stage flows: %w", err)
	}
	defer rows.Close()
	counts := map[[2]string]int{}
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("store: customers overview: stage flows: %w", err)
		}
		var ch struct{ From, To string }
		if json.Unmarshal(data, &ch) == nil && ch.From != "" {
			counts[[2]string{ch.From, ch.To}]++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: customers overview: stage flows: %w", err)
	}
	out := make([]Flow, 0, len(counts))
	for k, n := range counts {
		out = append(out, Flow{From: k[0], To: k[1], Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].From+out[i].To < out[j].From+out[j].To
	})
	return out, nil
}

// latestCalibration reads the calibration stored with the latest model of
// a refresh that computed one (or said why it could not).
func (s *Store) latestCalibration(ctx context.Context) (insights.CalibrationRecord, error) {
	var (
		rec    insights.CalibrationRecord
		params []byte
	)
	err := s.DB.QueryRowContext(ctx, `SELECT params FROM insights_models
		WHERE params->>'calibration' IS NOT NULL OR params->>'calibration_note' IS NOT NULL
		ORDER BY id DESC LIMIT 1`).Scan(&params)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("store: customers overview: calibration: %w", err)
	}
	if err := json.Unmarshal(params, &rec); err != nil {
		return rec, fmt.Errorf("store: customers overview: calibration: %w", err)
	}
	return rec, nil
}
