package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// reportDays is how many of the latest days the table form prints.
const reportDays = 14

func (a *app) reportCommand() *cobra.Command {
	var asJSON, global bool
	var from, to string
	cmd := &cobra.Command{
		Use:   "report CAMPAIGN | --global-holdout --from DATE --to DATE",
		Short: "Did it work? Sends, conversions and lift over the holdout, per variant",
		Long: `report measures a campaign from its ledger and the purchases: per variant and
holdout the audience (customers), messages sent, delivered and failed,
conversions (customers who bought within the attribution window after their
message, last touch across campaigns), conversion rate, revenue per recipient,
and the lift of the treated customers over the holdout with a 95% confidence
interval and a plain-language verdict. --json prints the same JSON as
GET /v1/campaigns/{id}/report. docs/reporting.md explains the numbers.

With --global-holdout it compares instead the customers of the global
holdout (TIDINGS_GLOBAL_HOLDOUT: no promotional campaign at all) with everyone
else over [--from, --to): orders and revenue per customer, the share who
bought, and the lift of everyone else over the holdout with its 95% interval.`,
		Example: "  tidings report spring-sale\n  tidings report spring-sale --json\n" +
			"  tidings report --global-holdout --from 2026-10-01 --to 2026-12-01",
		RunE: func(cmd *cobra.Command, args []string) error {
			if global {
				if len(args) != 0 {
					return fmt.Errorf("report --global-holdout takes no campaign; drop %q", args[0])
				}
				return a.reportGlobalHoldout(cmd.Context(), from, to, asJSON)
			}
			if len(args) != 1 {
				return fmt.Errorf("report takes one campaign id (or --global-holdout --from --to)")
			}
			return a.report(cmd.Context(), args[0], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (the admin API's shape)")
	cmd.Flags().BoolVar(&global, "global-holdout", false, "compare the global holdout with everyone else over --from..--to")
	cmd.Flags().StringVar(&from, "from", "", "with --global-holdout: the period's first day, YYYY-MM-DD (UTC)")
	cmd.Flags().StringVar(&to, "to", "", "with --global-holdout: the day after the period, YYYY-MM-DD (UTC)")
	return cmd
}

func (a *app) report(ctx context.Context, id string, asJSON bool) error {
	c, st, err := a.campaignAndStore(ctx, id)
	if err != nil {
		return err
	}
	defer st.Close()
	// Reporting only reads the store: no queue, no channels.
	e := worker.NewEngine(st, &worker.Enqueuer{}, nil, worker.Options{Logger: a.log})
	e.SetCampaigns([]*campaigns.Campaign{c})
	rep, err := e.Report(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		out, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", out)
		return err
	}
	printReport(a.stdout, rep)
	return nil
}

// printReport writes the human form: the arms as a table, the verdict, and
// the latest days.
func printReport(w io.Writer, r worker.Report) {
	fmt.Fprintf(w, "%s (%s): %s attribution, window %s\n\n", r.CampaignID, r.Name, r.Attribution, r.AttributionWindow)
	if r.Paused != "" {
		fmt.Fprintf(w, "PAUSED: %s; resume with POST /v1/campaigns/%s/resume once the cause is fixed\n\n", r.Paused, r.CampaignID)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "arm\taudience\tsent\tdelivered\tfailed\texpired\tconversions\trate\trevenue\tper recipient\tlift over holdout (95% CI)\t")
	rows := append(append([]worker.ArmReport{}, r.Arms...), r.Treated)
	for _, a := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f%%\t%.2f\t%.2f\t%s\t\n", a.Arm, a.Audience, a.Sent, a.Delivered,
			a.Failed, a.Expired, a.Conversions, 100*a.ConversionRate, a.Revenue, a.RevenuePerRecipient, liftCell(a.Lift))
	}
	tw.Flush()
	printDeliverability(w, r)
	fmt.Fprintf(w, "\nverdict: %s\n", r.Verdict)
	if r.Lift != nil {
		fmt.Fprintf(w, "p-value %.3g, relative lift %+.1f%%\n", r.Lift.PValue, 100*r.Lift.Relative)
	}
	if r.Tracking != nil {
		printTracking(w, r.Tracking)
	}
	if r.Journey != nil {
		printJourney(w, r.Journey)
	}
	printSurveys(w, r.Surveys)
	if len(r.Daily) == 0 {
		return
	}
	days := r.Daily
	if len(days) > reportDays {
		fmt.Fprintf(w, "\nlast %d of %d days (UTC):\n", reportDays, len(days))
		days = days[len(days)-reportDays:]
	} else {
		fmt.Fprintln(w, "\ndays (UTC):")
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "day\tsent\tconversions\t")
	for _, d := range days {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", d.Day, d.Sent, d.Conversions)
	}
	tw.Flush()
}

// printTracking writes the opens and clicks per arm, machines apart.
func printTracking(w io.Writer, t *worker.TrackingReport) {
	fmt.Fprintln(w, "\nopens and clicks (deliveries; machines: Apple Mail Privacy Protection, link scanners):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "arm\tsent\topened\topen rate\tmachine opened\tclicked\tclick rate\tmachine clicked\tclicks\t")
	for _, a := range append(append([]worker.TrackedArm{}, t.Arms...), t.Steps...) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%d\t%d\t%.1f%%\t%d\t%d\t\n", a.Arm, a.Sent, a.Opened, 100*a.OpenRate,
			a.MachineOpened, a.Clicked, 100*a.ClickRate, a.MachineClicked, a.Clicks)
	}
	tw.Flush()
	if !t.Opens || !t.Clicks {
		fmt.Fprintf(w, "tracking now: opens %s, clicks %s\n", onOff(t.Opens), onOff(t.Clicks))
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// liftCell shows a lift in percentage points with its interval.
func liftCell(l *worker.Lift) string {
	if l == nil {
		return "-"
	}
	s := fmt.Sprintf("%+.1f pts [%+.1f, %+.1f]", 100*l.Diff, 100*l.Low, 100*l.High)
	if l.Significant {
		s += " *"
	}
	return strings.ReplaceAll(s, "+0.0", "0.0")
}

// printJourney writes a journey's funnel, exits and split arms.
func printJourney(w io.Writer, j *worker.JourneyReport) {
	fmt.Fprintf(w, "\njourney: %d entered, %d held out\n", j.Entered, j.Holdout)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tkind\tpassed\tsent\twaiting\tconverted\trevenue\tnext\t")
	for _, s := range j.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%.2f\t%s\t\n", s.Step, s.Kind, s.Passed, s.Sent, s.Waiting, s.Converted,
			s.Revenue, strings.Join(s.Next, ","))
	}
	tw.Flush()
	reasons := slices.Sorted(maps.Keys(j.Exits))
	exits := make([]string, len(reasons))
	for i, k := range reasons {
		exits[i] = fmt.Sprintf("%s %d", k, j.Exits[k])
	}
	fmt.Fprintf(w, "exits: %s\n", cmp.Or(strings.Join(exits, ", "), "none yet"))
	if len(j.Splits) == 0 {
		return
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "split arm\tentries\tconversions\trate\trevenue\tlift (95% CI)\t")
	for _, a := range j.Splits {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%.2f\t%s\t\n", a.Arm, a.Audience, a.Conversions, 100*a.ConversionRate,
			a.Revenue, liftCell(a.Lift))
	}
	tw.Flush()
}

// printDeliverability writes what providers reported about the sent
// messages, per arm and per send step of a journey; nothing while no
// provider reported anything (no receiver is configured, or too early).
func printDeliverability(w io.Writer, r worker.Report) {
	type row struct {
		name            string
		sent, delivered int64
		fb              store.FeedbackCounts
	}
	var rows []row
	var total store.FeedbackCounts
	for _, a := range r.Arms {
		if a.Arm != "holdout" {
			rows = append(rows, row{a.Arm, a.Sent, a.Delivered, a.FeedbackCounts})
			total.Plus(a.FeedbackCounts)
		}
	}
	if r.Journey != nil {
		for _, s := range r.Journey.Steps {
			if s.Kind == "send" {
				rows = append(rows, row{"step " + s.Step, s.Sent, -1, s.FeedbackCounts})
			}
		}
	}
	if total == (store.FeedbackCounts{}) {
		return
	}
	fmt.Fprintln(w, "\ndeliverability (what providers reported):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "arm\taccepted\tdelivered\thard bounced\tsoft bounced\tcomplained\tconfirmed\t")
	for _, x := range rows {
		delivered := "-"
		if x.delivered >= 0 {
			delivered = fmt.Sprint(x.delivered)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t\n", x.name, x.sent, delivered, x.fb.HardBounced, x.fb.SoftBounced,
			x.fb.Complained, x.fb.Confirmed)
	}
	tw.Flush()
}

// printSurveys writes the survey results: answers, the three groups and
// the NPS with its interval (CSAT: the mean and the share satisfied).
func printSurveys(w io.Writer, list []worker.SurveyReport) {
	for _, s := range list {
		fmt.Fprintf(w, "\n%s survey: %d responses\n", strings.ToUpper(string(s.Kind)), s.Responses)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		if s.Kind == campaigns.SurveyNPS {
			fmt.Fprintln(tw, "promoters (9-10)\tpassives (7-8)\tdetractors (0-6)\tNPS (95% CI)\t")
			nps := "-"
			if s.NPS != nil {
				nps = fmt.Sprintf("%+.0f [%+.0f, %+.0f]", s.NPS.Score, s.NPS.Low, s.NPS.High)
			}
			fmt.Fprintf(tw, "%d (%s)\t%d (%s)\t%d (%s)\t%s\t\n", s.Promoters, share(s.Promoters, s.Responses), s.Passives,
				share(s.Passives, s.Responses), s.Detractors, share(s.Detractors, s.Responses), nps)
		} else {
			fmt.Fprintln(tw, "satisfied (4-5)\tneutral (3)\tdissatisfied (1-2)\tmean\t")
			fmt.Fprintf(tw, "%d (%s)\t%d (%s)\t%d (%s)\t%.2f\t\n", s.Promoters, share(s.Promoters, s.Responses), s.Passives,
				share(s.Passives, s.Responses), s.Detractors, share(s.Detractors, s.Responses), s.Mean)
		}
		tw.Flush()
	}
}

// share is n of total as a whole percentage.
func share(n, total int64) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(total))
}
