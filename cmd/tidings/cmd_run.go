package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/worker"
	"github.com/tidings-crm/tidings/worker/redisconn"
)

// roles says which parts of Tidings a process runs.
type roles struct {
	worker, scheduler, http bool
}

func (a *app) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run everything in one process: HTTP server, scheduler, workers, reconciler",
		Long: `serve runs the whole engine in one process: the HTTP server (unsubscribe
links, inbound SMS keywords, health), the scheduler that fires campaigns, the
workers that evaluate audiences and send, and the reconciler that repairs what
Redis loses. It refuses to start while migrations are pending: run
"tidings migrate up" first, or pass --migrate to apply them at start. Stop it
with SIGINT or SIGTERM: in-flight sends finish or are handed back.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runRoles(cmd.Context(), roles{worker: true, scheduler: true, http: true})
		},
	}
}

func (a *app) workerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run a worker process: audience shards and sends from the queue",
		Long: `worker processes campaign runs, audience shards and deliveries from Redis.
Run as many as you like on one Redis and one database: every send is claimed
in the ledger first, so none is sent twice. Workers also run the reconciler
and reload the campaigns folder when it changes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runRoles(cmd.Context(), roles{worker: true})
		},
	}
}

func (a *app) schedulerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "scheduler",
		Short: "Run the scheduler: fire campaigns on their schedules",
		Long: `scheduler fires cron campaigns at their ticks (in the campaign's time zone)
and daily triggers (birthday, inactivity, churn risk) every 15 minutes, so each
customer's local time is met. Several schedulers may run for availability: a
tick's run is unique, so it runs once. Missed ticks younger than an hour are
caught up once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runRoles(cmd.Context(), roles{scheduler: true})
		},
	}
}

// runRoles runs the chosen parts until ctx ends (SIGINT/SIGTERM).
func (a *app) runRoles(ctx context.Context, r roles) error {
	rt, err := a.openRuntime(ctx, a.cfg.migrate)
	if err != nil {
		return err
	}
	defer rt.close()
	if r.worker || r.http {
		for _, w := range a.cfg.startWarnings() {
			a.log.Warn(w)
		}
	}
	// The HTTP port is taken before anything starts, so a port in use
	// fails the command before it runs a scheduler or workers.
	var hs *http.Server
	var l net.Listener
	if r.http {
		if hs, err = a.httpServer(rt); err != nil {
			return err
		}
		if l, err = net.Listen("tcp", hs.Addr); err != nil {
			return fmt.Errorf("http server: %w", err)
		}
		defer l.Close() // Serve closes it too; this is for a return before Serve
		a.log.Info("http server listening", "addr", l.Addr().String())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	goRun := func(fn func()) { wg.Add(1); go func() { defer wg.Done(); fn() }() }

	goRun(func() { rt.engine.WatchCampaigns(ctx, a.cfg.CampaignsDir, 5*time.Second) })
	if a.cfg.Policy != "" {
		goRun(func() { rt.engine.WatchPolicy(ctx, a.cfg.Policy, 5*time.Second) })
	}
	if r.scheduler {
		s := &worker.Scheduler{Engine: rt.engine}
		if a.cfg.SimClock != "" {
			clock, err := worker.ParseSimClock(a.cfg.SimClock)
			if err != nil {
				return err
			}
			s.Clock = &clock
			a.log.Warn("the scheduler runs on a simulated clock (TIDINGS_SIMULATED_CLOCK): for drills only", "clock", a.cfg.SimClock)
		}
		goRun(func() { s.Run(ctx) })
		if a.cfg.Feedback.BounceIMAPURL != "" {
			mb, err := a.bounceMailbox(rt)
			if err != nil {
				return err
			}
			goRun(func() { mb.Run(ctx, a.cfg.Feedback.bounceEvery, nil) })
		}
	}
	errc := make(chan error, 2)
	if r.worker {
		srv, mux := a.asynqServer(rt)
		if err := srv.Start(mux); err != nil {
			return fmt.Errorf("start workers: %w", err)
		}
		defer srv.Shutdown()
		// A pass at least four times per lease settles a dead worker's
		// claims soon after they expire.
		goRun(func() { rt.engine.RunReconciler(ctx, min(30*time.Second, a.cfg.Lease()/4)) })
		goRun(func() { rt.engine.RunJourneySweeper(ctx, journeySweepEvery) })
		if len(a.cfg.hookSubs) > 0 {
			goRun(func() { rt.hooks.RunHooks(ctx, hookSweepEvery) })
		}
	}
	if r.http {
		goRun(func() {
			if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http server: %w", err)
			}
		})
		// Shut the server down when ctx ends: wg.Wait below waits for
		// Serve, so a deferred Shutdown would never run.
		goRun(func() {
			<-ctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			hs.Shutdown(sctx)
		})
	}
	if l != nil && a.listening != nil {
		a.listening(l.Addr()) // everything has started
	}
	a.log.Info("tidings running", "worker", r.worker, "scheduler", r.scheduler, "http", r.http,
		"campaigns", len(rt.engine.Campaigns()))
	a.limits(rt, r.worker)
	a.logReplica(ctx, rt.st)
	select {
	case <-ctx.Done():
		err = nil
	case err = <-errc:
	}
	cancel()
	wg.Wait()
	return err
}

// journeySweepEvery is how often each worker looks for journey customers
// whose wait ended; events and new entries wake the sweeper of the process
// that handles them at once.
const journeySweepEvery = 2 * time.Second

// hookSweepEvery is how often each worker posts the outgoing webhooks due.
const hookSweepEvery = time.Second

// limits logs the effective per-process limits at start, so an operator
// sees what a process will do without reading the defaults: the send rates
// and the SMTP pool (worker processes only) and the pools to PostgreSQL and
// Redis (docs/operations.md#limits says what each protects).
func (a *app) limits(rt *runtime, isWorker bool) {
	redisPool := redisconn.PoolSize(rt.rdb)
	dbPool := rt.st.DB.Stats().MaxOpenConnections
	if !isWorker {
		a.log.Info("limits", "db_pool", dbPool, "redis_pool", redisPool)
		return
	}
	a.log.Info("limits", "db_pool", dbPool, "redis_pool", redisPool, "concurrency", a.cfg.Concurrency,
		"email_rate", a.cfg.EmailRate, "sms_rate", a.cfg.SMSRate, "smtp_pool", a.cfg.smtpPool())
}
