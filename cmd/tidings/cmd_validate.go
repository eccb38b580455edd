package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/campaigns"
)

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check campaign files and the contact policy: YAML keys, audience rules, templates",
		Long: `validate loads campaign files (or every *.yaml in the folders given; by default
the campaigns folder) exactly as the scheduler would, and the contact policy
file (TIDINGS_POLICY or --policy, when set), and prints one line per problem as
file:line:col: message. Exit status 0 means every file is valid (warnings, such
as an SMS longer than one segment, do not fail it); 1 means at least one error.`,
		Example: "  tidings validate examples/campaigns\n  tidings validate campaigns/win-back.yaml\n  tidings validate --policy policy.yaml",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{a.cfg.CampaignsDir}
			}
			list, problems, err := a.loadCampaigns(args...)
			if err != nil {
				return err
			}
			if a.cfg.Policy != "" {
				_, more := campaigns.LoadPolicy(a.cfg.Policy)
				problems = append(problems, more...)
			}
			errorsFound := 0
			for _, p := range problems {
				fmt.Fprintln(a.stdout, p.String())
				if p.Severity == campaigns.SeverityError {
					errorsFound++
				}
			}
			if errorsFound > 0 {
				what := "campaign files"
				if a.cfg.Policy != "" {
					what = "campaign and policy files"
				}
				fmt.Fprintf(a.stderr, "%d error(s) in %s\n", errorsFound, what)
				return exitError{code: 1}
			}
			fmt.Fprintf(a.stderr, "%d campaign(s) valid\n", len(list))
			return nil
		},
	}
}
