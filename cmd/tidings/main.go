// Command tidings is the Tidings campaign engine: one binary that validates
// campaign files, imports customers and purchases, evaluates audiences,
// previews messages, and runs the scheduler, workers and HTTP server.
//
// We use cobra for the command tree because it is the Go ecosystem's habit for
// multi-command tools (asynq's own CLI, kubectl, hugo): generated --help per
// subcommand, persistent flags, and shell completion come for free.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	// The IANA zone database is built in: customer and campaign zones, DST
	// rules and the typo checks of time_zone must not depend on the host
	// having tzdata installed (slim containers do not).
	_ "time/tzdata"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tidings-crm/tidings/store"
)

// exitError carries an exit code without printing anything more: the command
// already told the user what went wrong (validate's problem list).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// app is what every subcommand shares: configuration and output streams.
type app struct {
	cfg    Config
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	// changed lists the flags given on the command line.
	changed map[string]bool
	// listening, when set, is called with the HTTP server's address once
	// it and every other part of the command have started (serve): the
	// signal tests wait on instead of polling /healthz, and how they learn
	// the port of --http-addr 127.0.0.1:0.
	listening func(net.Addr)
	// now, when set, is the engine's clock (the demo's simulated journey
	// days); nil is the wall clock.
	now func() time.Time
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI with args and returns the process exit code. Tests call
// it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return (&app{stdout: stdout, stderr: stderr}).run(ctx, args)
}

// run executes the CLI with args on a's output streams (and hooks).
func (a *app) run(ctx context.Context, args []string) int {
	stdout, stderr := a.stdout, a.stderr
	a.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "tidings: %v\n", err)
	return 1
}

func (a *app) rootCommand() *cobra.Command {
	var configFile *string
	root := &cobra.Command{
		Use:   "tidings",
		Short: "Tidings: campaigns in YAML, audiences in expressions, messages sent once",
		Long: `Tidings is a marketing-automation and campaign engine. Marketers write campaigns
as YAML files with expression-based audience rules; the scheduler fires them as
jobs on Redis; workers evaluate the audience from SQL and send email and SMS,
each customer once per occurrence, through consent, caps and quiet hours.

Settings come from flags, TIDINGS_* environment variables or a YAML file
(--config); every flag below names its variable.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.changed = map[string]bool{}
			cmd.Flags().Visit(func(f *pflag.Flag) { a.changed[f.Name] = true })
			if err := a.cfg.load(cmd.Flags(), *configFile); err != nil {
				return err
			}
			if a.cfg.LogFormat == "json" {
				a.log = slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			}
			return nil
		},
	}
	configFile = a.cfg.bindFlags(root.PersistentFlags())
	root.AddCommand(
		a.migrateCommand(),
		a.validateCommand(),
		a.importCommand(),
		a.audienceCommand(),
		a.previewCommand(),
		a.demoCommand(),
		a.serveCommand(),
		a.workerCommand(),
		a.schedulerCommand(),
		a.insightsCommand(),
		a.eventsCommand(),
		a.webhooksCommand(),
		a.reportCommand(),
		a.deliveriesCommand(),
		a.customersCommand(),
		a.doctorCommand(),
	)
	return root
}

// openStore opens the configured database with its pool size
// (TIDINGS_DB_POOL) and applies pending migrations when migrate is true.
func (a *app) openStore(ctx context.Context, migrate bool) (*store.Store, error) {
	st, err := store.Open(ctx, a.cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if a.cfg.DatabaseRead != "" {
		if err := st.AttachReplica(a.cfg.DatabaseRead, func(err error) {
			a.log.Warn("read replica failed; this read and the next 30 s of them go to the primary", "err", err)
		}); err != nil {
			st.Close()
			return nil, fmt.Errorf("TIDINGS_DATABASE_READ_URL: %w", err)
		}
	}
	if a.cfg.dbPool > 0 {
		st.SetPoolSize(a.cfg.dbPool)
	}
	if err := st.SetFeedbackPolicy(a.cfg.feedback); err != nil {
		st.Close()
		return nil, err
	}
	if migrate {
		if _, err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
		if err := a.loadHashKey(ctx, st); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// loadHashKey gives st the key of hashed suppressions (TIDINGS_HASH_KEY, or
// the one kept in the database) once the schema has it. A key kept in the
// database protects the hashes from nobody who holds a copy of it: say so.
func (a *app) loadHashKey(ctx context.Context, st *store.Store) error {
	where, err := st.LoadHashKey(ctx, a.cfg.HashKey)
	if errors.Is(err, store.ErrHashKey) {
		return fmt.Errorf("%w (TIDINGS_HASH_KEY, docs/privacy.md#the-hash-key)", err)
	}
	if err != nil {
		return err
	}
	if where == store.KeyGenerated {
		a.log.Warn("TIDINGS_HASH_KEY is not set: the key of hashed suppressions is kept in the database, " +
			"so a copy of the database can test guesses against them; set TIDINGS_HASH_KEY to it " +
			"(SELECT key FROM hash_key) to move it out (docs/privacy.md#the-hash-key)")
	}
	return nil
}

// requireMigrated fails when st has pending migrations, naming them and the
// two ways forward. The long-running processes do not change the schema
// unasked: a new binary rolled out to one worker would otherwise migrate the
// database under the old workers still running.
func requireMigrated(ctx context.Context, st *store.Store) error {
	list, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	var pending []string
	for _, m := range list {
		if m.AppliedAt == nil {
			pending = append(pending, m.File())
		}
	}
	if len(pending) == 0 {
		return nil
	}
	return fmt.Errorf("the database has %d pending migration(s): %s; apply them with `tidings migrate up` "+
		"(then start), or start with --migrate (TIDINGS_MIGRATE=true) to apply them now",
		len(pending), strings.Join(pending, ", "))
}
