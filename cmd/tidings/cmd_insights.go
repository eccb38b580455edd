package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
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
stage (lifecycle), the BG/NBD probability of still being a customer (p_alive),
expected purchases over 90 days (expected_purchases_90d) and lifetime value
(clv, Gamma-Gamma spend model). Prospects (no purchase yet) get lifecycle
"prospect" and p_alive 1, so churn rules never pick them up by accident.
Run "insights refresh" daily (a stage change is recorded as a
lifecycle_changed customer event).`,
	}
	var at string
	refresh := &cobra.Command{
		Use:   "refresh",
		Short: "Fit the models on every customer and store fresh scores",
		Long: `refresh fits BG/NBD and Gamma-Gamma on the whole customer base (weeks as the
time unit), scores every customer as of --at (purchases after it are ignored)
and stores the scores, the fitted parameters and the lifecycle changes.`,
		Example: "  tidings insights refresh\n  tidings insights refresh --at 1998-07-01",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now, err := parseAt(at)
			if err != nil {
				return err
			}
			return a.insightsRefresh(cmd.Context(), now)
		},
	}
	refresh.Flags().StringVar(&at, "at", "", "score as if now were this time (RFC 3339 or YYYY-MM-DD); default now")
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

func (a *app) insightsRefresh(ctx context.Context, now time.Time) error {
	st, err := a.openStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	opts, err := a.insightsOptions()
	if err != nil {
		return err
	}
	rep, err := worker.RefreshInsights(ctx, st, now, opts)
	if err != nil {
		return err
	}
	w := a.stdout
	fmt.Fprintf(w, "insights refreshed as of %s: %d customers (%d buyers, %d repeat buyers) in %s (fit %s, score %s)\n",
		rep.At.Format(time.RFC3339), rep.Customers, rep.Buyers, rep.RepeatBuyers, rep.Elapsed.Round(time.Millisecond),
		rep.FitTime.Round(time.Millisecond), rep.ScoreTime.Round(time.Millisecond))
	if rep.Fitted {
		p := worker.InsightsParams{UnitDays: rep.Unit.Hours() / 24, BGNBD: rep.Models.BG, GammaGamma: rep.Models.GG}
		printModel(w, rep.ModelID, rep.At, p, rep.LogLikelihood)
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	fmt.Fprintf(w, "lifecycle changes: %d%s\n", rep.StageChanges, transitions(rep.Transitions))
	printDistribution(w, counts(rep.Segments), counts(rep.Lifecycle), rep.PAliveDeciles)
	return nil
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
	bg, gg := p.BGNBD, p.GammaGamma
	fmt.Fprintf(w, "model #%d as of %s, time unit %s\n", id, at.Format("2006-01-02"), unit)
	fmt.Fprintf(w, "  BG/NBD       r=%.4f alpha=%.4f a=%.4f b=%.4f (log-likelihood %.2f)\n", bg.R, bg.Alpha, bg.A, bg.B, ll)
	if gg.Valid() {
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

// insightsOptions reads the optional RFM segment map (TIDINGS_SEGMENT_MAP).
func (a *app) insightsOptions() (worker.InsightsOptions, error) {
	opts := worker.InsightsOptions{Log: a.log}
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

// loadCampaigns loads campaign files checked against this deployment's
// settings: rules may name the segments of TIDINGS_SEGMENT_MAP.
func (a *app) loadCampaigns(paths ...string) ([]*campaigns.Campaign, []campaigns.Problem, error) {
	opts, err := a.insightsOptions()
	if err != nil {
		return nil, nil, err
	}
	list, problems := worker.CampaignSettings(opts).Load(paths...)
	return list, problems, nil
}
