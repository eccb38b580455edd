package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/synth"
	"github.com/tidings-crm/tidings/worker"
)

type demoOptions struct {
	customers int
	once      bool
}

func (a *app) demoCommand() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Tidings end to end on the embedded default (SQLite, no services needed)",
		Long: `demo creates the SQLite database (TIDINGS_DATABASE_URL, by default
tidings-data/tidings.db), fills it with synthetic customers and purchases when
it is empty, loads the example campaigns, evaluates every campaign's audience
now, and prints one row per campaign.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.demo(cmd.Context(), o)
		},
	}
	cmd.Flags().IntVar(&o.customers, "customers", 5000, "synthetic customers to create when the database is empty")
	cmd.Flags().BoolVar(&o.once, "once", false, "run one cycle and exit")
	return cmd
}

func (a *app) demo(ctx context.Context, o demoOptions) error {
	list, problems := campaigns.Load(a.cfg.CampaignsDir)
	if campaigns.HasErrors(problems) {
		for _, p := range problems {
			fmt.Fprintln(a.stderr, p.String())
		}
		return fmt.Errorf("demo: campaigns in %s have errors", a.cfg.CampaignsDir)
	}
	st, err := a.openStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	if err := seedDemo(ctx, st, o.customers, now); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CAMPAIGN\tTRIGGER\tEVALUATED\tAUDIENCE\tEMAIL\tSMS\tTEAM\tUNREACHABLE\tHOLDOUT\tTIME\t")
	for _, c := range list {
		reach := map[string]int{}
		holdout := 0
		stats, err := worker.Audience(ctx, st, c, worker.AudienceOptions{Now: now, DefaultLoc: a.cfg.Location()},
			func(env *rules.Env, cust *store.Customer) error {
				if worker.InHoldout(c, cust.ID) {
					holdout++
					return nil
				}
				reach[worker.Reachable(c, env)]++
				return nil
			})
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", c.ID, c.Trigger.Kind, stats.Evaluated, stats.Matched,
			reach["email"], reach["sms"], reach["team"], reach[""], holdout, stats.Elapsed.Round(time.Millisecond))
	}
	return tw.Flush()
}

// seedDemo fills an empty database with n synthetic customers and their
// purchases, in batches.
func seedDemo(ctx context.Context, st *store.Store, n int, now time.Time) error {
	count, err := st.CountCustomers(ctx)
	if err != nil || count > 0 {
		return err
	}
	const batch = 500
	var custs []store.CustomerInput
	var purchases []store.PurchaseInput
	flush := func() error {
		if _, err := st.UpsertCustomers(ctx, custs); err != nil {
			return err
		}
		if _, err := st.UpsertPurchases(ctx, purchases); err != nil {
			return err
		}
		custs, purchases = custs[:0], purchases[:0]
		return nil
	}
	err = synth.Generate(n, 42, now, func(c synth.Customer) error {
		custs = append(custs, c.Customer)
		purchases = append(purchases, c.Purchases...)
		if len(custs) >= batch {
			return flush()
		}
		return nil
	})
	if err == nil && len(custs) > 0 {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("demo: seed synthetic customers: %w", err)
	}
	return nil
}
