package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
)

// InsightsOptions configure RefreshInsights; the zero value is valid.
type InsightsOptions struct {
	// Score configures RFM (monetary basis, segment map), the lifecycle
	// rules, the expected-purchases horizon and CLV; see insights.ScoreOptions
	// for the defaults. Unit is the models' time unit (default a week). When
	// Models is set the refresh uses those parameters instead of fitting
	// (parameters fitted on a larger base, or held fixed). The forecast is
	// stored in expected_purchases_90d, so keep HorizonDays at 90.
	Score insights.ScoreOptions
	// Model is the count model fitted for P(alive), expected purchases and
	// CLV (TIDINGS_CHURN_MODEL); "" is insights.DefaultCountModel.
	Model insights.CountModel
	// Value defines value_trend and value_churn (insights.ValueChurnRule):
	// a zero FloorCents takes the base's median order value at the refresh
	// clock, a zero Below 0.5.
	Value insights.ValueChurnRule
	// Tiers are the loyalty tiers of the tiers file (TIDINGS_TIERS); nil
	// stores no tier.
	Tiers *insights.Tiers
	// CalibrationWeeks, when above 0, makes the refresh check its forecast
	// on the shop's own history (insights.Calibration): the count model
	// fitted on the purchases up to CalibrationWeeks before the clock, its
	// forecast of those weeks against what happened, stored with the model
	// (the dashboard draws it). It needs customers who bought before that
	// cut, purchases after it and a calibration period at least as long
	// (otherwise InsightsReport.CalibrationNote says what is missing), and
	// costs a second fit. The scheduled refresh and `insights refresh` set
	// it (TIDINGS_CALIBRATION_HOLDOUT_WEEKS); 0 computes none.
	CalibrationWeeks float64
	// PageSize is the customers read per query (default 2,000). The scores
	// are written in one transaction (store.SaveInsightsFrom).
	PageSize int
	// Log receives one summary line per refresh (default slog.Default()).
	Log *slog.Logger
}

// InsightsReport says what a refresh fitted and stored.
type InsightsReport struct {
	At            time.Time     // the refresh clock
	Unit          time.Duration // the models' time unit
	ModelID       int64         // the insights_models row written (0 when nothing was fitted)
	Fitted        bool          // false when Models were given or no customer had a history to fit
	Models        insights.Models
	LogLikelihood float64 // the count model's log-likelihood at the fitted parameters, over the customers fitted on
	// FitSample is the number of buyers the count model was fitted on when
	// the base has more than insights.FitSampleSize (a seeded random sample;
	// Gamma-Gamma likewise samples the repeat buyers); 0 when fitted on all.
	FitSample int

	Customers    int                     // customers refreshed
	Buyers       int                     // customers with a purchase by At
	RepeatBuyers int                     // buyers with at least one repeat purchase day (the Gamma-Gamma input)
	Value        insights.ValueChurnRule // the value churn rule applied (its floor resolved)
	ValueChurn   int                     // customers flagged value_churn

	Segments      map[string]int // buyers per RFM segment
	Lifecycle     map[string]int // customers per lifecycle stage
	PAliveDeciles [10]int        // buyers by P(alive) in [k/10, (k+1)/10), 1 in the last
	StageChanges  int            // lifecycle_changed events recorded
	Transitions   map[string]int // "growing -> declining": count
	ABC           insights.ABC   // the revenue cut points of class A and B
	TypicalGap    float64        // the repeat buyers' median own gap, in days (next purchase of one-time buyers)
	Tiers         map[string]int // customers per loyalty tier
	TierChanges   int            // tier_changed events recorded
	// ChangeEvents are the event ids of the changes recorded (lifecycle
	// stages, tiers), whose reactions run the campaigns and journeys they trigger.
	ChangeEvents []string
	Warnings     []string // what was degraded (no spend model, non-finite scores)

	// Calibration is the holdout check of the forecast (CalibrationWeeks),
	// nil when not asked for or not possible; CalibrationNote then says why.
	Calibration     *insights.Calibration
	CalibrationNote string

	FitTime   time.Duration // first pass: read histories, cut points, fit
	ScoreTime time.Duration // second pass: score and write
	Elapsed   time.Duration
}

// InsightsParams is the JSON stored in insights_models.params: the fitted
// parameters in the stated unit and the RFM cut points of the refresh, so a
// stored score can be explained and reproduced.
type InsightsParams struct {
	UnitDays float64 `json:"unit_days"`
	// Model is the count model; "" (rows stored before the choice) is BG/NBD.
	Model      insights.CountModel      `json:"model,omitempty"`
	BGNBD      insights.BGNBDParams     `json:"bgnbd,omitzero"`      // BG/NBD and MBG/NBD
	ParetoNBD  insights.ParetoNBDParams `json:"pareto_nbd,omitzero"` // Pareto/NBD
	GammaGamma insights.GGParams        `json:"gamma_gamma"`
	insights.CalibrationRecord
	Buyers       int `json:"buyers"`
	RepeatBuyers int `json:"repeat_buyers"`
	ValueChurn   struct {
		FloorCents int64   `json:"floor_cents"`
		Below      float64 `json:"below"`
	} `json:"value_churn"`
	RFMCuts struct {
		R, F, M insights.Quintiles
	} `json:"rfm_cuts"`
}

// RefreshInsights recomputes every customer's intelligence as of now and
// stores it: RFM scores and segment, lifecycle stage, P(alive), expected
// purchases over the horizon (90 days), CLV, and the spend and orders of
// the latest 90 days and the 90 days before (insights.ValueWindows).
//
// It makes two streaming passes over the customers and their purchases up to
// now (later purchases are ignored, so a past now scores "as of" then). The
// first builds each customer's model inputs with lifetimes' conventions
// (insights.Summaries: purchases on one day are one purchase), the RFM cut
// points, and fits the count model and Gamma-Gamma (repeat-purchase mean spend) on
// every buyer, or on a seeded sample of insights.FitSampleSize of a larger
// base; it holds about 50 bytes per buyer. The second scores each customer
// and streams the rows into one store.SaveInsightsFrom transaction (COPY on
// PostgreSQL), which records lifecycle changes; its memory is flat. Stored conventions (prospects get
// p_alive 1, expected purchases and CLV 0) are documented in store/insights.go.
func RefreshInsights(ctx context.Context, st *store.Store, now time.Time, opts InsightsOptions) (InsightsReport, error) {
	return refreshInsights(ctx, st, now, opts, nil)
}

// refreshInsights is RefreshInsights; with bt set it is a backtest: nothing
// is written (no model row, no scores), every scored customer in bt's id
// range is kept in bt instead.
func refreshInsights(ctx context.Context, st *store.Store, now time.Time, opts InsightsOptions, bt *AsOf) (InsightsReport, error) {
	started := time.Now()
	now = now.UTC()
	opts = opts.withDefaults()
	if err := opts.Score.Lifecycle.Validate(); err != nil {
		return InsightsReport{}, fmt.Errorf("insights refresh: %w", err)
	}
	rep := InsightsReport{At: now, Unit: opts.Score.Unit, Segments: map[string]int{}, Lifecycle: map[string]int{},
		Transitions: map[string]int{}, Tiers: map[string]int{}}
	in, err := readFitInputs(ctx, st, now, opts, bt == nil)
	if err != nil {
		return rep, err
	}
	rep.Buyers, rep.RepeatBuyers = len(in.rft), len(in.freq)
	if rep.Value, err = valueRule(opts.Value, in.aov); err != nil {
		return rep, err
	}
	models, err := fitInsights(in, opts, &rep)
	if err != nil {
		return rep, err
	}
	if rep.Fitted && bt == nil && opts.CalibrationWeeks > 0 {
		rep.Calibration, rep.CalibrationNote = calibrate(in, now, opts)
	}
	if rep.Fitted && bt == nil {
		if rep.ModelID, err = saveModel(ctx, st, in, &rep); err != nil {
			return rep, err
		}
	}
	rep.FitTime = time.Since(started)
	rfm := opts.Score
	rfm.Models = nil // the scorer's model part counts orders; the refresh scores summaries (see score)
	scorer, err := insights.NewScorerFromQuintiles(in.cuts[0], in.cuts[1], in.cuts[2], now, rfm)
	if err != nil {
		return rep, fmt.Errorf("insights refresh: %w", err)
	}
	s := &refreshScorer{scorer: scorer, models: models, opts: opts, now: now, rep: &rep, bt: bt}
	s.resolveValueInputs(in)
	if err := s.run(ctx, st); err != nil {
		return rep, err
	}
	rep.ScoreTime = time.Since(started) - rep.FitTime
	rep.Elapsed = time.Since(started)
	msg := "insights refreshed"
	if bt != nil {
		msg = "insights backtest computed (nothing stored)"
	}
	opts.Log.Info(msg, "at", now, "customers", rep.Customers, "buyers", rep.Buyers,
		"fitted", rep.Fitted, "stage_changes", rep.StageChanges, "elapsed", rep.Elapsed.Round(time.Millisecond))
	return rep, nil
}

func (o InsightsOptions) withDefaults() InsightsOptions {
	if o.Score.Unit <= 0 {
		o.Score.Unit = 7 * 24 * time.Hour
	}
	if o.Model == "" {
		o.Model = insights.DefaultCountModel
	}
	if o.Score.HorizonDays <= 0 {
		o.Score.HorizonDays = 90
	}
	o.Score = o.Score.WithCLVDefaults()
	if o.Score.Lifecycle == nil {
		rules := insights.DefaultLifecycleRules()
		o.Score.Lifecycle = &rules
	}
	if o.PageSize <= 0 {
		o.PageSize = 2000
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// customerInputs derives one customer's stats and model summary from their
// purchases (all at or before now). The stats count purchase days, as the
// summary does: several orders on one date are one purchase, for RFM
// frequency and the lifecycle as for the models. buf is reused between
// calls.
func customerInputs(h *store.CustomerHistory, now time.Time, unit time.Duration,
	buf []insights.Purchase) (insights.CustomerStats, insights.Summary, []insights.Purchase) {
	c := insights.CustomerStats{ID: h.ID}
	if len(h.Purchases) == 0 {
		return c, insights.Summary{}, buf
	}
	buf = buf[:0]
	var cents int64
	for _, p := range h.Purchases {
		cents += p.AmountCents
		buf = append(buf, insights.Purchase{At: p.OccurredAt, Amount: float64(p.AmountCents) / 100})
	}
	c.TotalSpent = float64(cents) / 100
	c.FirstPurchaseAt, c.LastPurchaseAt = h.Purchases[0].OccurredAt, h.Purchases[len(h.Purchases)-1].OccurredAt
	sum := insights.Summaries(buf, now, unit)[0]
	c.Orders = int(sum.X) + 1
	return c, sum, buf
}

// recencyDays is whole days since the last purchase, as insights' RFM has it.
func recencyDays(c insights.CustomerStats, now time.Time) float64 {
	return math.Max(0, math.Floor(now.Sub(c.LastPurchaseAt).Hours()/24))
}

// valueRule resolves the value churn rule: a zero floor is the median of
// the buyers' average order values (aov, in cents), a zero threshold 0.5.
func valueRule(r insights.ValueChurnRule, aov []float64) (insights.ValueChurnRule, error) {
	if r.FloorCents == 0 {
		r.FloorCents = insights.DefaultValueFloorCents(aov)
	}
	if r.Below == 0 {
		r.Below = insights.DefaultValueChurnBelow
	}
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("insights refresh: %w", err)
	}
	return r, nil
}

// fitInputs is what the first pass keeps: one model row per buyer, the
// Gamma-Gamma rows of repeat buyers, the RFM cut points and each buyer's
// average order value in cents (the value churn floor's input).
type fitInputs struct {
	rft        []insights.RFT
	freq, mean []float64
	aov        []float64
	cuts       [3]insights.Quintiles
	spend      []int64   // each buyer's total spend in cents (the ABC cuts)
	gaps       []float64 // each repeat buyer's own gap in days (next purchase)
	holdout    []insights.HoldoutCase
	first      time.Time // the earliest purchase (the calibration's history)
}

func readFitInputs(ctx context.Context, st *store.Store, now time.Time, opts InsightsOptions, write bool) (*fitInputs, error) {
	in := &fitInputs{}
	cut := calibrationCut(now, opts.CalibrationWeeks)
	var r, f, m []float64
	var buf []insights.Purchase
	err := st.StreamCustomerHistories(ctx, store.HistoryOptions{Until: now, PageSize: opts.PageSize},
		func(h *store.CustomerHistory) error {
			var (
				c   insights.CustomerStats
				sum insights.Summary
			)
			c, sum, buf = customerInputs(h, now, opts.Score.Unit, buf)
			if c.Orders == 0 {
				return nil
			}
			in.rft = append(in.rft, sum.RFT)
			if write && opts.CalibrationWeeks > 0 {
				in.addHoldout(buf, c.FirstPurchaseAt, cut, now, opts.Score.Unit)
			}
			if sum.X > 0 && sum.MonetaryMean > 0 {
				in.freq, in.mean = append(in.freq, sum.X), append(in.mean, sum.MonetaryMean)
			}
			in.aov = append(in.aov, c.TotalSpent*100/float64(len(h.Purchases))) // per order, not per day
			in.addValueInputs(c, sum, opts.Score.Unit)
			money := c.TotalSpent
			if opts.Score.Monetary == insights.MonetaryAverage {
				money /= float64(c.Orders)
			}
			r, f, m = append(r, -recencyDays(c, now)), append(f, float64(c.Orders)), append(m, money)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("insights refresh: read histories: %w", err)
	}
	for i, v := range [][]float64{r, f, m} {
		slices.Sort(v)
		in.cuts[i] = insights.QuintilesFromSorted(v, i == 0)
	}
	return in, nil
}

// fitInsights fits the count model and Gamma-Gamma unless models were given. A base
// with nothing to fit (no buyer, or every buyer new today) is not an error:
// the refresh then stores RFM and lifecycle only (p_alive 1, no forecast).
func fitInsights(in *fitInputs, opts InsightsOptions, rep *InsightsReport) (*insights.Models, error) {
	if m := opts.Score.Models; m != nil {
		rep.Models = *m
		rep.LogLikelihood = m.LogLikelihood(in.rft)
		return m, nil
	}
	rft, freq, mean := in.rft, in.freq, in.mean
	if len(rft) > insights.FitSampleSize {
		rft = sampled(rft, insights.SampleIndices(len(rft), insights.FitSampleSize, fitSeed))
		rep.FitSample = len(rft)
	}
	if len(freq) > insights.FitSampleSize {
		idx := insights.SampleIndices(len(freq), insights.FitSampleSize, fitSeed)
		freq, mean = sampled(freq, idx), sampled(mean, idx)
	}
	fit, err := insights.FitCountModel(opts.Model, rft)
	if errors.Is(err, insights.ErrNoData) {
		rep.Warnings = append(rep.Warnings, "no purchase history to fit the models on: P(alive), expected purchases and CLV not computed")
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("insights refresh: %w", err)
	}
	fitWarning(opts.Log, rep, opts.Model.String(), fit.FitReport)
	models := &fit.Models
	if len(freq) >= 2 {
		gg, err := insights.FitGammaGammaReport(freq, mean)
		if err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("spend model not fitted (%v): CLV stored as 0", err))
		} else {
			models.GG = gg.Params
			fitWarning(opts.Log, rep, "Gamma-Gamma", gg.FitReport)
		}
	} else {
		rep.Warnings = append(rep.Warnings, "fewer than two repeat buyers: spend model not fitted, CLV stored as 0")
	}
	rep.Fitted, rep.Models, rep.LogLikelihood = true, *models, fit.LogLikelihood
	return models, nil
}

// fitSeed seeds the fit's sample of a large base (insights.FitSampleSize),
// so the same base gives the same parameters.
const fitSeed = 18

// sampled is data at the indices idx.
func sampled[T any](data []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, k := range idx {
		out[i] = data[k]
	}
	return out
}

// fitWarning logs and reports a fit that ran out of its evaluation budget or
// ended on the edge of the search box: its scores are usable but the data
// did not pin the model down, which is worth a look (a base of one-time
// buyers, a broken import).
func fitWarning(log *slog.Logger, rep *InsightsReport, model string, fit insights.FitReport) {
	if fit.Converged && len(fit.AtBound) == 0 {
		return
	}
	var parts []string
	if !fit.Converged {
		parts = append(parts, fmt.Sprintf("did not converge in %d evaluations (scores use its best point)", fit.Evaluations))
	}
	if len(fit.AtBound) > 0 {
		parts = append(parts, fmt.Sprintf("ended at the edge of its search box for %s (the data barely constrain them)",
			strings.Join(fit.AtBound, ", ")))
	}
	msg := model + " fit " + strings.Join(parts, " and ")
	log.Warn("insights: "+msg, "model", model, "evaluations", fit.Evaluations, "converged", fit.Converged,
		"at_bound", fit.AtBound)
	rep.Warnings = append(rep.Warnings, msg)
}

func saveModel(ctx context.Context, st *store.Store, in *fitInputs, rep *InsightsReport) (int64, error) {
	p := ModelParams(rep)
	p.Buyers, p.RepeatBuyers = rep.Buyers, rep.RepeatBuyers
	p.ValueChurn.FloorCents, p.ValueChurn.Below = rep.Value.FloorCents, rep.Value.Below
	p.RFMCuts.R, p.RFMCuts.F, p.RFMCuts.M = in.cuts[0], in.cuts[1], in.cuts[2]
	p.Calibration, p.Note = rep.Calibration, rep.CalibrationNote
	raw, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("insights refresh: encode model parameters: %w", err)
	}
	id, err := st.SaveInsightsModel(ctx, store.InsightsModel{FittedAt: rep.At, Params: raw, Customers: cmp.Or(rep.FitSample, rep.Buyers),
		LogLikelihood: rep.LogLikelihood})
	if err != nil {
		return 0, fmt.Errorf("insights refresh: %w", err)
	}
	return id, nil
}

// ModelParams is the stored form of a refresh's models: the count model
// by name with its parameters, and Gamma-Gamma's.
func ModelParams(rep *InsightsReport) InsightsParams {
	p := InsightsParams{UnitDays: rep.Unit.Hours() / 24, Model: rep.Models.Kind, GammaGamma: rep.Models.GG}
	if p.Model == insights.ModelParetoNBD {
		p.ParetoNBD = rep.Models.PNBD
	} else {
		p.BGNBD = rep.Models.BG
	}
	return p
}

// Models reads the stored models back.
func (p InsightsParams) Models() insights.Models {
	return insights.Models{Kind: p.Model, BG: p.BGNBD, PNBD: p.ParetoNBD, GG: p.GammaGamma}
}

// refreshScorer is the second pass: score each streamed customer, write in
// batches, count for the report.
type refreshScorer struct {
	scorer  *insights.Scorer
	models  *insights.Models
	opts    InsightsOptions
	now     time.Time
	rep     *InsightsReport
	buf     []insights.Purchase
	bad     int   // non-finite model outputs replaced by 0
	bt      *AsOf // a backtest keeps the rows here instead of writing them
	tierBuf []insights.TierPurchase
}

func (s *refreshScorer) run(ctx context.Context, st *store.Store) error {
	hopts := store.HistoryOptions{Until: s.now, PageSize: s.opts.PageSize}
	var err error
	if s.bt != nil {
		hopts.AfterID, hopts.UpToID = s.bt.afterID, s.bt.upToID
		err = st.StreamCustomerHistories(ctx, hopts, func(h *store.CustomerHistory) error {
			s.bt.keep(h, s.score(h))
			return nil
		})
	} else {
		var changes []store.Change
		changes, err = st.SaveInsightsFrom(ctx, func(yield func(store.InsightRow) error) error {
			return st.StreamCustomerHistories(ctx, hopts, func(h *store.CustomerHistory) error {
				return yield(s.score(h))
			})
		}, s.tierOrder()...)
		s.rep.countChanges(changes)
	}
	if err != nil {
		return fmt.Errorf("insights refresh: %w", err)
	}
	if s.bad > 0 {
		s.rep.Warnings = append(s.rep.Warnings, fmt.Sprintf("%d customers had a non-finite forecast, stored as 0", s.bad))
	}
	return nil
}

// score computes one customer's row. RFM comes from the Scorer (orders as
// stored); the model outputs use the customer's summary (one purchase per
// day, repeat-purchase mean spend), the inputs the models were fitted on.
func (s *refreshScorer) score(h *store.CustomerHistory) store.InsightRow {
	var (
		c   insights.CustomerStats
		sum insights.Summary
	)
	c, sum, s.buf = customerInputs(h, s.now, s.opts.Score.Unit, s.buf)
	res := s.scorer.Score(c)
	row := store.InsightRow{CustomerID: h.ID, R: res.R, F: res.F, M: res.M, Segment: res.Segment,
		Lifecycle: res.Lifecycle, PAlive: 1, At: s.now}
	var w insights.ValueWindows
	for _, p := range h.Purchases {
		w.Add(p.OccurredAt, s.now, p.AmountCents)
	}
	row.Spend90dCents, row.SpendPrev90dCents, row.Orders90d = w.Spend90dCents, w.SpendPrev90dCents, w.Orders90d
	row.OrdersPrev90d, row.ValueTrend, row.ValueChurn = w.OrdersPrev90d, s.rep.Value.Trend(w), s.rep.Value.Churn(w)
	if row.ValueChurn {
		s.rep.ValueChurn++
	}
	s.rep.Customers++
	if c.Orders > 0 && s.models != nil {
		m, o := s.models, s.opts.Score
		row.PAlive = s.finite(m.PAlive(sum.X, sum.TX, sum.T))
		horizon := o.HorizonDays * float64(24*time.Hour) / float64(o.Unit)
		row.ExpectedPurchases90d = s.finite(m.ExpectedPurchases(horizon, sum.X, sum.TX, sum.T))
		if m.GG.Valid() {
			row.CLV = s.finite(o.CLV(m, sum.X, sum.TX, sum.T, sum.MonetaryMean))
		}
	}
	row.Lifecycle = s.opts.Score.Lifecycle.Stage(stageInput(c, sum, w, s.opts.Score.Unit, row.PAlive, s.models != nil),
		s.rep.Value)
	s.valueClasses(&row, h, c, sum)
	s.rep.Lifecycle[row.Lifecycle]++
	if c.Orders > 0 {
		s.rep.Segments[row.Segment]++
		s.rep.PAliveDeciles[min(int(row.PAlive*10), 9)]++
	}
	return row
}

// finite replaces a non-finite model output by 0 (counted), and clamps
// P(alive) rounding noise below 0.
func (s *refreshScorer) finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		s.bad++
		return 0
	}
	return math.Max(v, 0)
}
