package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// deliveriesMoreCount bounds the count behind the "N more" line: past it the
// line says "more than", so a campaign of millions costs no full count.
const deliveriesMoreCount = 10000

type deliveriesOptions struct {
	customer, status string
	limit            int
	asJSON           bool
}

func (a *app) deliveriesCommand() *cobra.Command {
	var o deliveriesOptions
	cmd := &cobra.Command{
		Use:   "deliveries CAMPAIGN",
		Short: "List a campaign's planned and past sends: status, reason, planned time local and UTC",
		Long: `deliveries lists a campaign's ledger, one row per customer and occurrence, in
customer order: the customer's external id, the status (pending, deferred,
sent, failed, holdout, suppressed, capped...), why (quiet hours, no consent,
frequency cap...), the occurrence, the channel, when the message is planned
in the customer's own time zone and in UTC, and when it was sent. Customers
without a zone are planned in the default one (TIDINGS_TIME_ZONE), marked
"(default)". Addresses are never shown. --json prints the same JSON as
GET /v1/campaigns/{id}/deliveries, whose next_cursor continues the listing.`,
		Example: "  tidings deliveries birthday-greeting --status deferred\n" +
			"  tidings deliveries win-back-90d --customer 1042\n" +
			"  tidings deliveries weekly-newsletter --status failed,unknown --limit 500 --json",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.deliveries(cmd.Context(), args[0], o)
		},
	}
	cmd.Flags().StringVar(&o.customer, "customer", "", "only this customer (external id)")
	cmd.Flags().StringVar(&o.status, "status", "", "only these statuses, comma-separated (e.g. pending,deferred)")
	cmd.Flags().IntVar(&o.limit, "limit", 50, "show at most this many rows")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the rows as JSON (the admin API's shape)")
	return cmd
}

func (a *app) deliveries(ctx context.Context, id string, o deliveriesOptions) error {
	statuses, err := worker.ParseStatuses(o.status)
	if err != nil {
		return fmt.Errorf("--status: %w", err)
	}
	if o.limit < 1 {
		return fmt.Errorf("--limit %d: write 1 or more", o.limit)
	}
	c, st, err := a.campaignAndStore(ctx, id)
	if err != nil {
		return err
	}
	defer st.Close()
	// Listing only reads the store: no queue, no channels.
	e := worker.NewEngine(st, &worker.Enqueuer{}, nil, worker.Options{Logger: a.log, DefaultLoc: a.cfg.Location()})
	e.SetCampaigns([]*campaigns.Campaign{c})
	q := store.LedgerQuery{CustomerExternalID: o.customer, Statuses: statuses, Limit: o.limit}
	page, err := e.Deliveries(ctx, id, q)
	if err != nil {
		return err
	}
	if o.asJSON {
		out, err := json.MarshalIndent(page, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", out)
		return err
	}
	more := 0
	if page.NextCursor != "" {
		q.CampaignID = id
		q.After, _ = worker.DecodeCursor(page.NextCursor)
		if more, err = st.CountDeliveries(ctx, q, deliveriesMoreCount+1); err != nil {
			return err
		}
	}
	printDeliveries(a.stdout, page, more)
	return nil
}

// printDeliveries writes the table form and, when the listing was cut, how
// many rows it left out.
func printDeliveries(w io.Writer, page worker.DeliveryPage, more int) {
	if len(page.Deliveries) == 0 {
		fmt.Fprintf(w, "%s: no ledger rows match\n", page.Campaign)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CUSTOMER\tSTATUS\tREASON\tOCCURRENCE\tCHANNEL\tPLANNED (LOCAL)\tZONE\tPLANNED (UTC)\tSENT (UTC)")
	for _, d := range page.Deliveries {
		local, utc := "-", "-"
		if d.PlannedAt != nil {
			t, _ := time.Parse(time.RFC3339, d.PlannedLocal)
			local, utc = t.Format("2006-01-02 15:04 -07:00"), d.PlannedAt.Format("2006-01-02 15:04")
		}
		zone := d.TimeZone
		switch {
		case d.ZoneDefault:
			zone += " (default)"
		case d.ZoneInferred:
			zone += " (from phone)"
		}
		sent := "-"
		if d.SentAt != nil {
			sent = d.SentAt.Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ExternalID, d.Status, orDash(shorten(string(d.Reason), 48)),
			d.Occurrence, d.Channel, local, zone, utc, sent)
	}
	tw.Flush()
	switch {
	case more > deliveriesMoreCount:
		fmt.Fprintf(w, "... and more than %d more rows (narrow with --status or --customer, or raise --limit)\n", deliveriesMoreCount)
	case more > 0:
		fmt.Fprintf(w, "... and %d more rows (narrow with --status or --customer, or raise --limit)\n", more)
	}
}

// shorten cuts a long reason for the table (--json has it whole).
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
