package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// hookFile is the outgoing webhooks' subscribers file (TIDINGS_WEBHOOKS).
type hookFile struct {
	Subscribers []struct {
		Name      string   `yaml:"name"`
		URL       string   `yaml:"url"`
		Secret    string   `yaml:"secret"`
		SecretEnv string   `yaml:"secret_env"` // the variable holding the secret, to keep it out of the file
		Events    []string `yaml:"events"`
	} `yaml:"subscribers"`
}

// readHookSubscribers reads and checks the subscribers file.
func readHookSubscribers(path string) ([]worker.HookSubscriber, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f hookFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w (the file holds subscribers: a list of name, url, secret or secret_env, events)", path, err)
	}
	if len(f.Subscribers) == 0 {
		return nil, fmt.Errorf("%s lists no subscribers", path)
	}
	var out []worker.HookSubscriber
	for i, s := range f.Subscribers {
		secret := s.Secret
		switch {
		case s.SecretEnv != "" && s.Secret != "":
			return nil, fmt.Errorf("%s: subscriber %d (%q): set secret or secret_env, not both", path, i+1, s.Name)
		case s.SecretEnv != "":
			secret = os.Getenv(s.SecretEnv)
			if secret == "" {
				return nil, fmt.Errorf("%s: subscriber %d (%q): secret_env %s is not set in the environment", path, i+1, s.Name, s.SecretEnv)
			}
		}
		out = append(out, worker.HookSubscriber{Name: s.Name, URL: s.URL, Secret: secret, Events: s.Events})
	}
	if err := worker.CheckHookSubscribers(out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func (a *app) webhooksCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "List outgoing webhooks and replay dead-lettered ones",
	}
	cmd.AddCommand(a.webhooksListCommand(), a.webhooksReplayCommand())
	return cmd
}

func (a *app) webhooksListCommand() *cobra.Command {
	var dead, asJSON bool
	var limit int
	c := &cobra.Command{
		Use:   "list --dead",
		Short: "List the outgoing webhooks that used up their retry budget (the dead-letter list)",
		Long: `list --dead prints, newest first, the outgoing webhooks that were posted
TIDINGS_WEBHOOK_ATTEMPTS times without a 2xx answer: id, subscriber, event type,
customer id, attempts, created and the last error. Replay them with
tidings webhooks replay --id ID or --all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !dead {
				return errors.New("say which list: --dead (the only one kept for operators)")
			}
			st, err := a.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer st.Close()
			rows, err := st.Hooks(cmd.Context(), store.HookDead, limit)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSUBSCRIBER\tEVENT\tCUSTOMER\tATTEMPTS\tCREATED\tLAST ERROR")
			for _, r := range rows {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%s\n", r.ID, r.Subscriber, r.Type, r.CustomerID, r.Attempts,
					r.CreatedAt.UTC().Format(time.RFC3339), r.LastError)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%d dead webhooks\n", len(rows))
			return nil
		},
	}
	c.Flags().BoolVar(&dead, "dead", false, "the dead-letter list")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().IntVar(&limit, "limit", 100, "most rows to print")
	return c
}

func (a *app) webhooksReplayCommand() *cobra.Command {
	var ids []int64
	var all bool
	c := &cobra.Command{
		Use:   "replay --id ID... | --all",
		Short: "Put dead-lettered webhooks back in the outbox, with a fresh retry budget",
		Long: `replay moves dead-lettered outgoing webhooks (tidings webhooks list --dead) back to
pending, due now with a fresh retry budget; a running worker posts them within a
second. They keep their webhook-id, so a receiver that did get an earlier attempt
deduplicates them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all == (len(ids) > 0) {
				return errors.New("name the webhooks to replay: --id ID (repeatable) or --all")
			}
			st, err := a.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.ReplayHooks(cmd.Context(), ids, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "replayed %d webhooks\n", n)
			if len(ids) > 0 && n < int64(len(ids)) {
				fmt.Fprintf(a.stdout, "%d of the ids were not dead (delivered, pending or unknown): left as they were\n", int64(len(ids))-n)
			}
			return nil
		},
	}
	c.Flags().Int64SliceVar(&ids, "id", nil, "a dead webhook's id (repeatable, or comma-separated)")
	c.Flags().BoolVar(&all, "all", false, "every dead webhook")
	return c
}
