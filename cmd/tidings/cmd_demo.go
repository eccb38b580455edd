package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/synth"
	"github.com/tidings-crm/tidings/worker"
)

type demoOptions struct {
	customers  int
	once       bool
	occurrence string
	journey    string // simulate this journey only
	days       int    // simulated days of a journey; 0: none
}

func (a *app) demoCommand() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Tidings end to end on the embedded default (SQLite, in-process Redis, outbox)",
		Long: `demo runs the whole path with no service installed: a SQLite database
(TIDINGS_DATABASE_URL, by default tidings-data/tidings.db) filled with synthetic
customers and purchases when empty, an in-process Redis for the job queue, the
example campaigns, and the outbox (tidings-data/outbox: one .eml file per email,
sms.log for SMS) unless TIDINGS_SMTP_URL is set. It fires every scheduled
campaign's current occurrence (a schedule's latest firing, the scheduler's
slot for daily triggers), waits for the sends that are due, and prints one row
per campaign with this run's numbers. An occurrence that ran before (an
earlier demo, the scheduler) is not sent again: the table says "already
sent". --occurrence NAME fires a new, named occurrence instead: an extra send
on purpose. Messages scheduled for later (a birthday greeting at 09:00 in the
customer's zone, SMS outside quiet hours) show as deferred. It then runs the
journey it fired that most customers entered over --days simulated days in a scratch database (the
same synthetic customers, removed after) and prints the journey's funnel per
simulated day. Without --once it then keeps running the scheduler and workers
until interrupted. --journey ID runs only that simulation, for any journey a
schedule or daily trigger fires.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.occurrence != "" {
				if err := worker.ValidOccurrence(o.occurrence); err != nil {
					return fmt.Errorf("--occurrence: %w", err)
				}
			}
			if o.journey != "" {
				return a.demoSimulate(cmd.Context(), o.journey, max(o.days, 1), o.customers)
			}
			return a.demo(cmd.Context(), o)
		},
	}
	cmd.Flags().IntVar(&o.customers, "customers", 5000, "synthetic customers to create when the database is empty")
	cmd.Flags().BoolVar(&o.once, "once", false, "run one cycle, print the table and exit")
	cmd.Flags().StringVar(&o.occurrence, "occurrence", "", "fire this named occurrence instead of each campaign's current one (an extra send on purpose, e.g. manual-2026-12-03-promo)")
	cmd.Flags().StringVar(&o.journey, "journey", "", "only run this journey over --days simulated days in a scratch database, printing its funnel per day")
	cmd.Flags().IntVar(&o.days, "days", 12, "simulated days of the journey run after the table (0: none)")
	return cmd
}

func (a *app) demo(ctx context.Context, o demoOptions) error {
	if !a.flagSet("redis-url") {
		a.cfg.RedisURL = "embedded"
	}
	rt, err := a.openRuntime(ctx, true)
	if err != nil {
		return err
	}
	defer rt.close()
	now := time.Now().UTC()
	if err := seedDemo(ctx, rt.st, o.customers, now); err != nil {
		return err
	}
	// Win-back and churn campaigns read lifecycle, P(alive) and CLV.
	opts, err := a.insightsOptions()
	if err != nil {
		return err
	}
	if _, err := worker.RefreshInsights(ctx, rt.st, now, opts); err != nil {
		return fmt.Errorf("demo: insights refresh: %w", err)
	}
	srv, mux := a.asynqServer(rt)
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	defer srv.Shutdown()

	fired, err := a.fireDemo(ctx, rt.engine, o.occurrence)
	if err != nil {
		return err
	}
	started := 0
	for _, d := range fired {
		if d.started() {
			started++
		}
	}
	fmt.Fprintf(a.stderr, "fired %d campaigns (%d had run before: not resent) over %s; sending into %s\n",
		started, len(fired)-started, redactURL(a.cfg.DatabaseURL), a.sendTarget())
	if err := waitSettled(ctx, rt.st, fired, 2*time.Minute); err != nil {
		return err
	}
	if err := a.printDemoTable(ctx, rt.st, fired); err != nil {
		return err
	}
	if err := a.demoJourneys(ctx, rt.st, rt.engine, fired); err != nil {
		return err
	}
	if o.days > 0 {
		id, err := busiestJourney(ctx, rt.engine, fired)
		if err != nil {
			return err
		}
		if id != "" {
			if err := a.demoSimulate(ctx, id, o.days, o.customers); err != nil {
				return err
			}
		}
	}
	if o.once {
		return nil
	}
	fmt.Fprintln(a.stderr, "demo keeps running (scheduler, workers, reconciler); Ctrl-C to stop")
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go rt.engine.RunReconciler(rctx, 30*time.Second)
	go rt.engine.RunJourneySweeper(rctx, journeySweepEvery)
	(&worker.Scheduler{Engine: rt.engine}).Run(rctx)
	return nil
}

func (a *app) flagSet(name string) bool { return a.changed[name] }

func (a *app) sendTarget() string {
	if a.cfg.SMTPURL != "" {
		return redactURL(a.cfg.SMTPURL)
	}
	return a.cfg.OutboxDir
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
