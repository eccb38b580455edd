package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

func (a *app) insightsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "insights",
		Short: "Refresh and inspect customer intelligence (RFM, lifecycle, P(alive), CLV)",
		Long: `insights computes what audience rules know about each customer beyond their
purchases: RFM scores and segment (rfm.r, rfm.f, rfm.m, rfm.segment), lifecycle
stage (lifecycle), the probability of still being a customer (p_alive),
expected purchases over 90 days (expected_purchases_90d), lifetime value
(clv, Gamma-Gamma spend model), and the spend and orders of the latest 90 days
and the 90 days before (spend_90d, spend_prev_90d, orders_90d, orders_prev_90d) with
value_trend and value_churn, the ABC revenue class (abc), the loyalty tier of
TIDINGS_TIERS (tier) and the expected days to the next purchase
(next_purchase_days) (docs/intelligence.md). Prospects (no purchase yet) get
lifecycle "prospect" and p_alive 1, so churn rules never pick them up by accident.
Run "insights refresh" daily: a change of stage or tier is recorded as a
lifecycle_changed or tier_changed event, which campaigns can trigger on (the
scheduled refresh enqueues their reactions; after this command, run
"tidings events replay").`,
	}
	var at string
	refresh := &cobra.Command{
		Use:   "refresh",
		Short: "Fit the models on every customer and store fresh scores",
		Long: `refresh fits the churn model (TIDINGS_CHURN_MODEL, Pareto/NBD by default)
and Gamma-Gamma on the whole customer base (weeks as the time unit), scores every customer as of now and stores the scores, the fitted
parameters and the lifecycle changes.

With --at it is a backtest and stores nothing: the models are fitted and every
customer scored as of that time (purchases after it are ignored) and the
report is printed, but the live scores stay as they are. audience and preview
take --at too and compute the same scores in memory.`,
		Example: "  tidings insights refresh\n  tidings insights refresh --at 1998-07-01",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now, err := parseAt(at)
			if err != nil {
				return err
			}
			return a.insightsRefresh(cmd.Context(), now, at != "")
		},
	}
	refresh.Flags().StringVar(&at, "at", "", "backtest: score as of this time (RFC 3339 or YYYY-MM-DD) and store nothing")
	report := &cobra.Command{
		Use:   "report",
		Short: "Print the fitted parameters, segment sizes and the P(alive) distribution",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.insightsReport(cmd.Context())
		},
	}
	cmd.AddCommand(refresh, report)
	return cmd
}

func (a *app) insightsRefresh(ctx context.Context, now time.Time, backtest bool) error {
	st, err := a.openStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if backtest {
		bt, err := a.backtest(ctx, st, now, worker.BacktestOptions{})
		if err != nil {
			return err
		}
		a.printRefresh(bt.Report, "backtest (nothing stored; the live scores are unchanged)", false)
		return nil
	}
	rep, err := a.refreshNow(ctx, st, now, true)
	if err != nil {
		return err
	}
	a.printRefresh(rep, "insights refreshed", true)
	return nil
}

// refreshNow refreshes and stores every customer's scores as of now, with
// the forecast check (TIDINGS_CALIBRATION_HOLDOUT_WEEKS) when calibrate is
// set: `insights refresh` and the scheduled refresh check, an import's
// refresh does not (a second fit).
func (a *app) refreshNow(ctx context.Context, st *store.Store, now time.Time, calibrate bool) (worker.InsightsReport, error) {
	opts, err := a.insightsOptions()
	if err != nil {
		return worker.InsightsReport{}, err
	}
	if calibrate {
		opts.CalibrationWeeks = float64(a.cfg.Calibration)
	}
	return worker.RefreshInsights(ctx, st, now, opts)
}

// backtest computes purchase metrics and scores as of at, in memory (see
// worker.Backtest), and says so on stderr.
func (a *app) backtest(ctx context.Context, st *store.Store, at time.Time, bo worker.BacktestOptions) (*worker.AsOf, error) {
	opts, err := a.insightsOptions()
	if err != nil {
		return nil, err
	}
	bt, err := worker.Backtest(ctx, st, at, opts, bo)
	if err != nil {
		return nil, err
	}
	what := "purchase metrics and scores"
	if bo.MetricsOnly {
		what = "purchase metrics (the rule reads no score)"
	}
	fmt.Fprintf(a.stderr, "backtest as of %s: %s computed from the purchases up to then (%d buyers, in %s), "+
		"in memory; stored rows untouched\n", at.Format(time.RFC3339), what, bt.Report.Buyers,
		bt.Report.Elapsed.Round(time.Millisecond))
	return bt, nil
}

// scoresAt prepares an audience over every customer: with backtest, their
// metrics and scores as of now (see backtest); without, a warning on stderr
// when c reads scores that are missing or stale, with the command to run.
func (a *app) scoresAt(ctx context.Context, st *store.Store, c *campaigns.Campaign, now time.Time, backtest bool) (*worker.AsOf, error) {
	if backtest {
		return a.backtest(ctx, st, now, worker.BacktestOptions{MetricsOnly: !worker.ReadsScores(c)})
	}
	msg, _, err := worker.ScoresWarning(ctx, st, c, now, 0, 0)
	if err != nil {
		return nil, err
	}
	if msg != "" {
		fmt.Fprintf(a.stderr, "warning: %s, or give --at to compute them as of a time\n", msg)
	}
	return nil, nil
}

func (a *app) printRefresh(rep worker.InsightsReport, title string, stored bool) {
	w := a.stdout
	fmt.Fprintf(w, "%s as of %s: %d customers (%d buyers, %d repeat buyers) in %s (fit %s, score %s)\n",
		title, rep.At.Format(time.RFC3339), rep.Customers, rep.Buyers, rep.RepeatBuyers, rep.Elapsed.Round(time.Millisecond),
		rep.FitTime.Round(time.Millisecond), rep.ScoreTime.Round(time.Millisecond))
	if rep.Fitted {
		printModel(w, rep.ModelID, rep.At, worker.ModelParams(&rep), rep.LogLikelihood)
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	if stored {
		fmt.Fprintf(w, "lifecycle changes: %d%s\n", rep.StageChanges, transitions(rep.Transitions))
	}
	printDistribution(w, counts(rep.Segments), counts(rep.Lifecycle), rep.PAliveDeciles)
}

func (a *app) insightsReport(ctx context.Context) error {
	st, err := a.openStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	sum, err := st.InsightsSummary(ctx)
	if err != nil {
		return err
	}
	w := a.stdout
	if sum.Scored == 0 {
		fmt.Fprintf(w, "no insights yet for the %d customers: run tidings insights refresh\n", sum.Customers)
		return nil
	}
	fmt.Fprintf(w, "insights of %d of %d customers, latest as of %s\n", sum.Scored, sum.Customers, sum.LastAt.Format(time.RFC3339))
	m, err := st.LatestInsightsModel(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		fmt.Fprintln(w, "no fitted model recorded (no purchase history to fit yet)")
	case err != nil:
		return err
	default:
		var p worker.InsightsParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return fmt.Errorf("insights report: model %d: %w", m.ID, err)
		}
		printModel(w, m.ID, m.FittedAt, p, m.LogLikelihood)
		fmt.Fprintf(w, "  fitted on %d buyers (%d repeat buyers)\n", p.Buyers, p.RepeatBuyers)
	}
	printDistribution(w, sum.Segments, sum.Lifecycle, sum.PAliveDeciles)
	return nil
}

func printModel(w io.Writer, id int64, at time.Time, p worker.InsightsParams, ll float64) {
	unit := fmt.Sprintf("%g days", p.UnitDays)
	if p.UnitDays == 7 {
		unit = "weeks"
	}
	m := p.Models()
	name := fmt.Sprintf("model #%d", id)
	if id == 0 {
		name = "model (not stored)"
	}
	fmt.Fprintf(w, "%s as of %s, time unit %s\n", name, at.Format("2006-01-02"), unit)
	if p := m.PNBD; m.Kind == insights.ModelParetoNBD {
		fmt.Fprintf(w, "  %-12s r=%.4f alpha=%.4f s=%.4f beta=%.4f (log-likelihood %.2f)\n", m.Kind, p.R, p.Alpha, p.S, p.Beta, ll)
	} else {
		bg := m.BG
		fmt.Fprintf(w, "  %-12s r=%.4f alpha=%.4f a=%.4f b=%.4f (log-likelihood %.2f)\n", m.Kind, bg.R, bg.Alpha, bg.A, bg.B, ll)
	}
	if gg := m.GG; gg.Valid() {
		fmt.Fprintf(w, "  Gamma-Gamma  p=%.4f q=%.4f v=%.4f\n", gg.P, gg.Q, gg.V)
	} else {
		fmt.Fprintln(w, "  Gamma-Gamma  not fitted (CLV is 0)")
	}
}

// counts orders a name -> count map largest first, as the store does.
func counts(m map[string]int) []store.NameCount {
	out := make([]store.NameCount, 0, len(m))
	for k, v := range m {
		out = append(out, store.NameCount{Name: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func transitions(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, c := range counts(m) {
		parts = append(parts, fmt.Sprintf("%s %d", c.Name, c.Count))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// printDistribution prints segment and stage sizes with their shares, and a
// bar chart of buyers per P(alive) decile.
func printDistribution(w io.Writer, segments, stages []store.NameCount, deciles [10]int) {
	table := func(title string, rows []store.NameCount) {
		total := 0
		for _, r := range rows {
			total += r.Count
		}
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, r := range rows {
			fmt.Fprintf(tw, "  %s\t%7d\t%5.1f%%\n", r.Name, r.Count, 100*float64(r.Count)/float64(max(total, 1)))
		}
		tw.Flush()
	}
	table("RFM segments (buyers)", segments)
	table("lifecycle stages", stages)
	most := 0
	for _, n := range deciles {
		most = max(most, n)
	}
	fmt.Fprintf(w, "\nP(alive) of buyers\n")
	for k, n := range deciles {
		bar := strings.Repeat("#", (n*40+most-1)/max(most, 1))
		hi := ")"
		if k == 9 {
			hi = "]"
		}
		fmt.Fprintf(w, "  [%.1f, %.1f%s %7d  %s\n", float64(k)/10, float64(k+1)/10, hi, n, bar)
	}
}

// insightsOptions reads the optional RFM segment map (TIDINGS_SEGMENT_MAP)
// and the value churn settings.
func (a *app) insightsOptions() (worker.InsightsOptions, error) {
	opts := worker.InsightsOptions{Log: a.log}
	if a.cfg.ValueFloor != "" {
		floor, err := positiveNumber("TIDINGS_VALUE_FLOOR", a.cfg.ValueFloor, "in currency units, e.g. 25")
		if err != nil {
			return opts, err
		}
		opts.Value.FloorCents = max(int64(math.Round(floor*100)), 1)
	}
	below, err := positiveNumber("TIDINGS_VALUE_CHURN_BELOW", a.cfg.ValueBelow, "e.g. 0.5 for spend halved")
	if err != nil {
		return opts, err
	}
	opts.Value.Below = below
	if err := a.modelOptions(&opts); err != nil {
		return opts, err
	}
	if a.cfg.Tiers != "" {
		data, err := os.ReadFile(a.cfg.Tiers)
		if err != nil {
			return opts, fmt.Errorf("TIDINGS_TIERS: %w", err)
		}
		if opts.Tiers, err = insights.ParseTiers(data); err != nil {
			return opts, fmt.Errorf("TIDINGS_TIERS %s: %w", a.cfg.Tiers, err)
		}
	}
	if a.cfg.SegmentMap == "" {
		return opts, nil
	}
	data, err := os.ReadFile(a.cfg.SegmentMap)
	if err != nil {
		return opts, fmt.Errorf("TIDINGS_SEGMENT_MAP: %w", err)
	}
	m, err := insights.ParseSegmentMap(data)
	if err != nil {
		return opts, fmt.Errorf("TIDINGS_SEGMENT_MAP %s: %w", a.cfg.SegmentMap, err)
	}
	opts.Score.Segments = &m
	return opts, nil
}

// modelOptions reads the churn model and CLV settings into opts.
func (a *app) modelOptions(opts *worker.InsightsOptions) error {
	model, err := insights.ParseCountModel(a.cfg.ChurnModel)
	if err != nil {
		return fmt.Errorf("config: TIDINGS_CHURN_MODEL: %w", err)
	}
	opts.Model = model
	margin, err := positiveNumber("TIDINGS_CLV_MARGIN", a.cfg.CLVMargin, "the share of revenue kept, e.g. 0.3; 1 for revenue")
	if err != nil {
		return err
	}
	if margin > 1 {
		return fmt.Errorf("config: TIDINGS_CLV_MARGIN must be at most 1 (a share of revenue, e.g. 0.3 for 30%%), got %q", a.cfg.CLVMargin)
	}
	discount, err := strconv.ParseFloat(a.cfg.CLVDiscount, 64)
	if err != nil || !(discount >= 0 && discount < 1) {
		return fmt.Errorf("config: TIDINGS_CLV_DISCOUNT must be a monthly rate of 0 or more and below 1 (0.01 = 1%% a month), got %q", a.cfg.CLVDiscount)
	}
	opts.Score.CLVMargin = margin
	opts.Score.CLVPeriods, opts.Score.CLVPeriodLength, opts.Score.CLVDiscount = a.cfg.CLVMonths, insights.WeeksPerMonth, discount
	return nil
}

// loadCampaigns loads campaign files checked against this deployment's
// settings: rules may name the segments of TIDINGS_SEGMENT_MAP.
func (a *app) loadCampaigns(paths ...string) ([]*campaigns.Campaign, []campaigns.Problem, error) {
	opts, err := a.insightsOptions()
	if err != nil {
		return nil, nil, err
	}
	settings := worker.CampaignSettings(opts, a.cfg.TopicList(), a.cfg.WebhookChannel.hosts)
	settings.LedgerRetention = a.cfg.LedgerRetention()
	list, problems := settings.Load(paths...)
	return list, problems, nil
}

// positiveNumber parses the setting env's value v as a number > 0, or says
// what to write instead (hint).
func positiveNumber(env, v, hint string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("config: %s must be a number above 0 (%s), got %q", env, hint, v)
	}
	return f, nil
}
