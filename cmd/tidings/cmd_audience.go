package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

func (a *app) audienceCommand() *cobra.Command {
	var sample int
	var at string
	cmd := &cobra.Command{
		Use:   "audience CAMPAIGN",
		Short: "Count and sample who would receive a campaign now, without sending",
		Long: `audience evaluates a campaign's trigger condition (birthday today in the
customer's zone, inactivity, churn risk) and audience rule over every customer,
and prints how many match, how many each channel can reach (consent and an
address), how many have a stated time zone, one inferred from their phone
number, or the default, a sample, and how long the evaluation took. Nothing is
sent or written. CAMPAIGN is a campaign id from the campaigns folder.

With --at the evaluation is a backtest: every customer's purchase metrics
(orders_count, total_spent, last purchase, average gap...) and scores
(lifecycle, rfm, p_alive, clv) are computed as of that time from the purchases
up to it, in memory; the stored rows are not touched. Without --at, a campaign
that reads scores warns when customers have none or stale ones.`,
		Example: "  tidings audience win-back-90d --sample 5\n  tidings audience win-back-90d --at 1998-07-01",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now, err := parseAt(at)
			if err != nil {
				return err
			}
			return a.audience(cmd.Context(), args[0], now, at != "", sample)
		},
	}
	cmd.Flags().IntVar(&sample, "sample", 10, "how many matching customers to show")
	cmd.Flags().StringVar(&at, "at", "", "evaluate as if now were this time (RFC 3339 or YYYY-MM-DD); default now")
	return cmd
}

// parseAt reads the --at flag: empty is the wall clock.
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC(), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("--at %q: write a time like 2026-03-01 or 2026-03-01T09:30:00Z", s)
}

// campaign loads the campaigns folder and returns the one with id. Problems
// in other files are printed as a warning but do not stop it: the engine
// runs the valid campaigns of a folder too.
func (a *app) campaign(id string) (*campaigns.Campaign, error) {
	list, problems, err := a.loadCampaigns(a.cfg.CampaignsDir)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(list))
	for _, c := range list {
		if c.ID == id {
			a.warnBrokenFiles(problems)
			return c, nil
		}
		ids = append(ids, c.ID)
	}
	for _, p := range problems {
		fmt.Fprintln(a.stderr, p.String())
	}
	msg := fmt.Sprintf("no campaign %q in %s; campaigns there: %s", id, a.cfg.CampaignsDir, strings.Join(ids, ", "))
	if campaigns.HasErrors(problems) {
		msg += " (files with errors, listed above, are not loaded: fix them and retry; tidings validate checks them)"
	}
	return nil, errors.New(msg)
}

// warnBrokenFiles tells on stderr which campaign files were skipped, with
// their errors, so a command on one valid campaign still shows them.
func (a *app) warnBrokenFiles(problems []campaigns.Problem) {
	files := map[string]bool{}
	for _, p := range problems {
		if p.Severity == campaigns.SeverityError {
			files[p.File] = true
		}
	}
	if len(files) == 0 {
		return
	}
	fmt.Fprintf(a.stderr, "warning: %d campaign file(s) in %s have errors and were skipped (tidings validate):\n",
		len(files), a.cfg.CampaignsDir)
	for _, p := range problems {
		if p.Severity == campaigns.SeverityError {
			fmt.Fprintln(a.stderr, "  "+p.String())
		}
	}
}

// campaignAndStore loads one campaign of the campaigns folder and opens the
// store (migrated), for the commands that read both; close the store after.
func (a *app) campaignAndStore(ctx context.Context, id string) (*campaigns.Campaign, *store.Store, error) {
	c, err := a.campaign(id)
	if err != nil {
		return nil, nil, err
	}
	st, err := a.openStore(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	return c, st, nil
}

func (a *app) audience(ctx context.Context, id string, now time.Time, backtest bool, sample int) error {
	c, st, err := a.campaignAndStore(ctx, id)
	if err != nil {
		return err
	}
	defer st.Close()
	asOf, err := a.scoresAt(ctx, st, c, now, backtest)
	if err != nil {
		return err
	}

	var (
		reach map[campaigns.Channel]int
		zones [3]int // by campaigns.ZoneSource
		rows  []store.Customer
		stats worker.AudienceStats
	)
	// From the read replica when there is one; counted again from scratch
	// on the primary if it fails.
	err = st.Read(ctx, func(rd *store.Store) error {
		reach, zones, rows = map[campaigns.Channel]int{}, [3]int{}, nil
		stats, err = worker.Audience(ctx, rd, c, worker.AudienceOptions{Now: now, DefaultLoc: a.cfg.Location(), AsOf: asOf},
			func(env *rules.Env, cust *store.Customer) error {
				reach[worker.Reachable(c, env)]++
				_, src := campaigns.CustomerLocation(cust.TimeZone, cust.Phone, a.cfg.Location())
				zones[src]++
				if len(rows) < sample {
					cp := *cust
					rows = append(rows, cp)
				}
				return nil
			})
		return err
	})
	if err != nil {
		return err
	}
	w := a.stdout
	fmt.Fprintf(w, "%s (%s trigger) at %s: %d of %d customers match\n",
		c.ID, c.Trigger.Kind, now.Format(time.RFC3339), stats.Matched, stats.Evaluated)
	fmt.Fprintf(w, "reachable: %s\n", reachSummary(c, reach))
	fmt.Fprintf(w, "time zones: %d stated, %d inferred from the phone number, %d default (%s)\n",
		zones[campaigns.ZoneStated], zones[campaigns.ZoneInferred], zones[campaigns.ZoneDefault], a.cfg.Location())
	if stats.Errors > 0 {
		fmt.Fprintf(w, "rule failed at run time for %d customers (skipped)\n", stats.Errors)
	}
	rate := float64(stats.Evaluated) / stats.Elapsed.Seconds()
	fmt.Fprintf(w, "evaluated in %s (%.0f customers/s)\n", stats.Elapsed.Round(time.Microsecond), rate)
	if len(rows) > 0 {
		fmt.Fprintf(w, "\nsample (first %d by id):\n", len(rows))
		printCustomers(w, rows)
	}
	return nil
}

func reachSummary(c *campaigns.Campaign, reach map[campaigns.Channel]int) string {
	var parts []string
	for _, ch := range c.Channels {
		parts = append(parts, fmt.Sprintf("%s %d", ch, reach[ch]))
	}
	if n := reach[worker.TeamAlert]; n > 0 {
		parts = append(parts, fmt.Sprintf("team alert %d", n))
	}
	parts = append(parts, fmt.Sprintf("unreachable %d (no consent or address)", reach[""]))
	return strings.Join(parts, ", ")
}

func printCustomers(w interface{ Write([]byte) (int, error) }, rows []store.Customer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEXTERNAL_ID\tNAME\tEMAIL\tPHONE\tLOCALE\tTIME_ZONE\tORDERS\tSPENT\tLAST_PURCHASE")
	for _, c := range rows {
		last := "-"
		if !c.LastPurchaseAt.IsZero() {
			last = c.LastPurchaseAt.Format("2006-01-02")
		}
		name := strings.TrimSpace(c.FirstName + " " + c.LastName)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.2f\t%s\n", c.ID, c.ExternalID, orDash(name),
			orDash(worker.MaskEmail(c.Email)), orDash(worker.MaskPhone(c.Phone)), orDash(c.Locale), orDash(c.TimeZone),
			c.OrdersCount, c.TotalSpent(), last)
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
