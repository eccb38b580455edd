package insights

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// CustomerStats is what the refresh job reads per customer: the purchase
// metrics the store maintains.
type CustomerStats struct {
	ID int64
	// Orders is the number of purchase days, dates with at least one order
	// (several orders on one date count once, as the models count them;
	// 0 = prospect): RFM frequency, the lifecycle's gap and the models'
	// x = Orders - 1 all read it.
	Orders          int
	TotalSpent      float64 // sum of order values
	FirstPurchaseAt time.Time
	LastPurchaseAt  time.Time
}

// Monetary chooses what the M score ranks.
type Monetary int

const (
	// MonetaryTotal ranks total spend (the default: revenue is what the
	// shop cares about, and it is what "VIP" means to most marketers).
	MonetaryTotal Monetary = iota
	// MonetaryAverage ranks average order value (independent of F).
	MonetaryAverage
)

// ScoreOptions configure Score and NewScorer; the zero value is valid and
// means: total spend for M, the default segment map and lifecycle rules, no
// models, weeks as the model time unit, a 90-day expected-purchases horizon,
// and CLV over 12 months of 4.345 weeks at 1% a month (lifetimes' default).
type ScoreOptions struct {
	Monetary  Monetary
	Segments  *SegmentMap
	Lifecycle *LifecycleRules
	Models    *Models
	// Unit is the models' time unit (default one week).
	Unit time.Duration
	// HorizonDays is the window of Result.ExpectedPurchases (default 90).
	HorizonDays float64
	// CLVPeriods periods of CLVPeriodLength units, discounted at CLVDiscount
	// per period (defaults 12, 4.345, 0.01: 12 months at 1% a month).
	CLVPeriods      int
	CLVPeriodLength float64
	CLVDiscount     float64
	// CLVMargin is the share of revenue CLV counts, in (0, 1]; 0 is 1
	// (revenue, no margin).
	CLVMargin float64
}

// WeeksPerMonth is the month of CLV horizons in weeks (365.25/12/7), as
// lifetimes has it.
const WeeksPerMonth = 4.345

// WithCLVDefaults fills CLV's zero settings: 12 months of WeeksPerMonth
// (in weeks, the default unit) at 1% a month when CLVPeriods is 0, and a
// margin of 1.
func (o ScoreOptions) WithCLVDefaults() ScoreOptions {
	if o.CLVPeriods <= 0 {
		o.CLVPeriods, o.CLVPeriodLength, o.CLVDiscount = 12, WeeksPerMonth, 0.01
	}
	if o.CLVMargin == 0 {
		o.CLVMargin = 1
	}
	return o
}

// CLV is the customer's CLV under m with these options: margin times
// Models.CLV over CLVPeriods periods of CLVPeriodLength units discounted
// at CLVDiscount a period (call WithCLVDefaults first).
func (o ScoreOptions) CLV(m *Models, x, tx, T, mean float64) float64 {
	return o.CLVMargin * m.CLV(x, tx, T, mean, o.CLVPeriods, o.CLVPeriodLength, o.CLVDiscount)
}

// Result is one customer's intelligence, ready for rules.Env.
type Result struct {
	ID        int64
	R, F, M   int    // 1-5, 0 for prospects (not scored)
	Score     string // "545"; "" for prospects
	Segment   string // "" for prospects
	Lifecycle string
	// PAlive, ExpectedPurchases (over HorizonDays) and CLV (in the
	// currency of TotalSpent) are -1 when no model is given or the customer
	// has no orders.
	PAlive            float64
	ExpectedPurchases float64
	CLV               float64
}

// Scorer scores customers one at a time in O(1) against cut points fixed in
// a first pass, so a refresh job can stream customers from the store.
type Scorer struct {
	r, f, m   Quintiles
	now       time.Time
	opts      ScoreOptions
	segments  SegmentMap
	lifecycle LifecycleRules
	perDay    float64 // model time units per day
}

// scoreStrings holds "111".."555" so scoring allocates nothing.
var scoreStrings = func() (s [125]string) {
	for c := range s {
		s[c] = fmt.Sprintf("%d%d%d", c/25+1, c/5%5+1, c%5+1)
	}
	return s
}()

// NewScorer computes the quintile cut points over customers with at least
// one order (one sort of a reused buffer per dimension) and returns a
// Scorer for the clock now.
func NewScorer(customers []CustomerStats, now time.Time, opts ScoreOptions) (*Scorer, error) {
	buf := make([]float64, 0, len(customers))
	cuts := func(value func(c *CustomerStats) float64, desc bool) Quintiles {
		buf = buf[:0]
		for i := range customers {
			if customers[i].Orders > 0 {
				v := value(&customers[i])
				if desc {
					v = -v
				}
				buf = append(buf, v)
			}
		}
		slices.Sort(buf)
		return QuintilesFromSorted(buf, desc)
	}
	r := cuts(func(c *CustomerStats) float64 { return recencyDays(c, now) }, true)
	f := cuts(func(c *CustomerStats) float64 { return float64(c.Orders) }, false)
	m := cuts(func(c *CustomerStats) float64 { return monetary(c, opts.Monetary) }, false)
	return NewScorerFromQuintiles(r, f, m, now, opts)
}

// NewScorerFromQuintiles builds a Scorer from cut points computed elsewhere
// (a sample, a previous run, or SQL percentiles).
func NewScorerFromQuintiles(r, f, m Quintiles, now time.Time, opts ScoreOptions) (*Scorer, error) {
	s := &Scorer{r: r, f: f, m: m, now: now, opts: opts}
	if opts.Segments != nil {
		s.segments = *opts.Segments
	} else {
		s.segments = DefaultSegmentMap()
	}
	s.lifecycle = DefaultLifecycleRules()
	if opts.Lifecycle != nil {
		s.lifecycle = *opts.Lifecycle
	}
	if err := s.lifecycle.Validate(); err != nil {
		return nil, err
	}
	if s.opts.Unit <= 0 {
		s.opts.Unit = 7 * 24 * time.Hour
	}
	if s.opts.HorizonDays <= 0 {
		s.opts.HorizonDays = 90
	}
	s.opts = s.opts.WithCLVDefaults()
	if s.opts.CLVPeriodLength <= 0 || s.opts.CLVDiscount <= -1 || !(s.opts.CLVMargin > 0 && s.opts.CLVMargin <= 1) {
		return nil, fmt.Errorf("insights: score options: CLV period length %g, discount %g and margin %g: want a length above 0, a discount above -1 and a margin in (0, 1]",
			s.opts.CLVPeriodLength, s.opts.CLVDiscount, s.opts.CLVMargin)
	}
	if m := s.opts.Models; m != nil && !m.CountValid() {
		return nil, fmt.Errorf("insights: score options: %s: invalid parameters", m.CountParams())
	}
	s.perDay = float64(24*time.Hour) / float64(s.opts.Unit)
	return s, nil
}

// Quintiles returns the cut points in use (R, F, M), e.g. to store them.
func (s *Scorer) Quintiles() (r, f, m Quintiles) { return s.r, s.f, s.m }

// Score scores one customer. It does not allocate.
func (s *Scorer) Score(c CustomerStats) Result {
	res := Result{ID: c.ID, PAlive: -1, ExpectedPurchases: -1, CLV: -1}
	if c.Orders <= 0 {
		res.Lifecycle = StageProspect
		return res
	}
	days := recencyDays(&c, s.now)
	res.R, res.F, res.M = s.r.Score(days), s.f.Score(float64(c.Orders)), s.m.Score(monetary(&c, s.opts.Monetary))
	res.Score = scoreStrings[cellIndex(res.R, res.F, res.M)]
	res.Segment = s.segments.Segment(res.R, res.F, res.M)
	if m := s.opts.Models; m != nil {
		rft := s.RFT(c)
		res.PAlive = m.PAlive(rft.X, rft.TX, rft.T)
		res.ExpectedPurchases = m.ExpectedPurchases(s.opts.HorizonDays*s.perDay, rft.X, rft.TX, rft.T)
		res.CLV = 0
		if m.GG.Valid() {
			res.CLV = s.opts.CLV(m, rft.X, rft.TX, rft.T, c.TotalSpent/float64(c.Orders))
		}
	}
	// Without purchase dates or spend windows, orders stand in for purchase
	// days and the value rules see flat windows (the refresh has both).
	first := math.Max(0, s.now.Sub(c.FirstPurchaseAt).Hours()/24)
	res.Lifecycle = s.lifecycle.Stage(StageInput{PurchaseDays: c.Orders, DaysSinceFirst: first, DaysSinceLast: days,
		PAlive: res.PAlive}, ValueChurnRule{FloorCents: 1, Below: DefaultValueChurnBelow})
	return res
}

// RFT converts a customer's stats to model inputs at the scorer's clock:
// x = Orders - 1 (purchase days after the first), t_x and T in whole days
// converted to the model unit.
// Gamma-Gamma uses the average order value as the repeat-purchase mean.
func (s *Scorer) RFT(c CustomerStats) RFT {
	return StatsRFT(c, s.now, s.opts.Unit)
}

// StatsRFT is Scorer.RFT for a given clock and time unit (default week).
func StatsRFT(c CustomerStats, now time.Time, unit time.Duration) RFT {
	if c.Orders <= 0 {
		return RFT{}
	}
	if unit <= 0 {
		unit = 7 * 24 * time.Hour
	}
	perDay := float64(24*time.Hour) / float64(unit)
	first := dayNumber(c.FirstPurchaseAt)
	tx := float64(dayNumber(c.LastPurchaseAt)-first) * perDay
	T := math.Max(float64(dayNumber(now)-first)*perDay, tx)
	return RFT{X: float64(c.Orders - 1), TX: tx, T: T}
}

// Score scores every customer with cut points computed over them all; a
// convenience over NewScorer for in-memory bases.
func Score(customers []CustomerStats, now time.Time, opts ScoreOptions) ([]Result, error) {
	s, err := NewScorer(customers, now, opts)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(customers))
	for i := range customers {
		out[i] = s.Score(customers[i])
	}
	return out, nil
}

// recencyDays is whole days from the last purchase to now (never negative).
func recencyDays(c *CustomerStats, now time.Time) float64 {
	return math.Max(0, math.Floor(now.Sub(c.LastPurchaseAt).Hours()/24))
}

func monetary(c *CustomerStats, basis Monetary) float64 {
	if basis == MonetaryAverage && c.Orders > 0 {
		return c.TotalSpent / float64(c.Orders)
	}
	return c.TotalSpent
}
