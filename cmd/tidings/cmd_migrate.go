package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func (a *app) migrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or inspect database schema migrations",
		Long: `Schema migrations are numbered SQL files embedded in the binary, one set per
database (PostgreSQL and SQLite). They only move forward. demo applies them
at start; serve, worker and scheduler refuse to start while some are pending:
run "tidings migrate up" before rolling them out, or start them with --migrate.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer st.Close()
			applied, err := st.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			// Suppressions stored in clear before 0012 are hashed now.
			if err := a.loadHashKey(cmd.Context(), st); err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(a.stdout, "database is up to date")
			}
			for _, name := range applied {
				fmt.Fprintf(a.stdout, "applied %s\n", name)
			}
			return nil
		},
	}, &cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer st.Close()
			list, err := st.MigrationStatus(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
			for _, m := range list {
				applied := "pending"
				if m.AppliedAt != nil {
					applied = m.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
				}
				fmt.Fprintf(tw, "%04d\t%s\t%s\n", m.Version, m.Name, applied)
			}
			return tw.Flush()
		},
	})
	return cmd
}
