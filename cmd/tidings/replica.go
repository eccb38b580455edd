package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/store"
)

// logReplica logs at start where the read-only work reads from and, with a
// read replica, how far behind it is: a replica that is down or is not a
// standby is a warning (the reads go to the primary meanwhile), not a
// reason to stop.
func (a *app) logReplica(ctx context.Context, st *store.Store) {
	if !st.HasReplica() {
		return
	}
	replica := redactURL(a.cfg.DatabaseRead)
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rs, err := st.ReplicaStatus(qctx)
	switch {
	case err != nil:
		a.log.Warn("read replica does not answer; audience streams and reports read from the primary until it does",
			"replica", replica, "err", err)
	case !rs.Standby:
		a.log.Warn("read replica is not a standby (not in recovery): is TIDINGS_DATABASE_READ_URL a primary?", "replica", replica)
	default:
		a.log.Info("read replica", "replica", replica, "lag", rs.Lag.Round(time.Millisecond).String(), "paused", rs.Paused)
	}
}

func (a *app) doctorDatabaseCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "database",
		Short: "Check the database and the read replica: reachable, a standby, and how far behind",
		Long: `doctor database connects to TIDINGS_DATABASE_URL and, when set, to the read
replica of TIDINGS_DATABASE_READ_URL: it checks that the replica answers, is a
standby (in recovery) and replays, and prints its lag (0 when it has replayed
all the primary wrote, else the age of its last replayed transaction,
pg_last_xact_replay_timestamp) and the bytes of WAL it is behind. The exit code
is 1 when a check fails (docs/operations.md#read-replica).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.doctorDatabase(cmd.Context()) },
	}
}

func (a *app) doctorDatabase(ctx context.Context) error {
	st, err := a.openStore(ctx, false)
	if err != nil {
		fmt.Fprintf(a.stdout, "FAIL  database %s: %v\n", redactURL(a.cfg.DatabaseURL), err)
		return errChecksFailed
	}
	defer st.Close()
	fmt.Fprintf(a.stdout, "PASS  database %s (%s) answers\n", redactURL(a.cfg.DatabaseURL), st.Dialect)
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rs, err := st.ReplicaStatus(qctx)
	replica := redactURL(a.cfg.DatabaseRead)
	switch {
	case errors.Is(err, store.ErrNoReplica):
		fmt.Fprintln(a.stdout, "      no read replica (TIDINGS_DATABASE_READ_URL): audience streams and reports read from the primary")
		return nil
	case err != nil:
		fmt.Fprintf(a.stdout, "FAIL  read replica %s: %v\n", replica, err)
		fmt.Fprintln(a.stdout, "      fix: start it, or unset TIDINGS_DATABASE_READ_URL; meanwhile its reads go to the primary")
		return errChecksFailed
	case !rs.Standby:
		fmt.Fprintf(a.stdout, "FAIL  read replica %s answers but is not a standby (not in recovery)\n", replica)
		fmt.Fprintln(a.stdout, "      fix: point TIDINGS_DATABASE_READ_URL at a hot standby of the primary, not at a primary")
		return errChecksFailed
	case rs.Paused:
		fmt.Fprintf(a.stdout, "FAIL  read replica %s: replay is paused, lag %s, %d bytes behind\n", replica, rs.Lag.Round(time.Millisecond), rs.Behind)
		fmt.Fprintln(a.stdout, "      fix: SELECT pg_wal_replay_resume() on the replica")
		return errChecksFailed
	}
	replayed := "none since it started"
	if !rs.ReplayedAt.IsZero() {
		replayed = rs.ReplayedAt.Format(time.RFC3339)
	}
	fmt.Fprintf(a.stdout, "PASS  read replica %s: standby, lag %s, %d bytes behind (last replayed transaction %s)\n",
		replica, rs.Lag.Round(time.Millisecond), rs.Behind, replayed)
	return nil
}
