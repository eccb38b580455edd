package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"os"

	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/outbox"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
	"github.com/tidings-crm/tidings/worker/redisconn"
)

func (a *app) customersCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "customers",
		Short: "Data-protection requests: erase or export one customer",
		Long: `customers answers a person's requests about their data (docs/privacy.md).
A customer is named by Tidings id, external id, email or phone.`,
	}
	var out string
	export := &cobra.Command{
		Use:   "export CUSTOMER",
		Short: "Write everything held about a customer as one JSON document",
		Long: `export writes the customer's profile and scores, consent history, purchases,
messages planned and sent, and the suppressions of their addresses (as keyed
hashes), as one JSON document: the answer to a request for access or
portability. GET /v1/customers/{id}/export gives the same.`,
		Example: "  tidings customers export ann@example.com --out ann.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.exportCustomer(cmd.Context(), args[0], out)
		},
	}
	export.Flags().StringVar(&out, "out", "", "write to this file (mode 0600) instead of standard output")
	erase := &cobra.Command{
		Use:   "erase CUSTOMER",
		Short: "Erase a customer's personal data, keeping aggregates and an opt-out",
		Long: `erase removes the customer's personal data from every table (profile, purchase
items, webhook payloads, ledger error texts), from the queue's retried tasks
and from the outbox; the customer row stays as an empty tombstone so reports
do not change, and each address stays suppressed as a keyed hash, so a later
import or webhook with it creates a customer without marketing consent.
Running it again finishes the queue and outbox cleanup if it was cut short.
POST /v1/customers/{id}/erase does the same.`,
		Example: "  tidings customers erase 4711\n  tidings customers erase +13055550123",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.eraseCustomer(cmd.Context(), args[0])
		},
	}
	cmd.AddCommand(erase, export)
	return cmd
}

// openCustomer opens the store and finds the customer ref names; close
// the store when done.
func (a *app) openCustomer(ctx context.Context, ref string) (*store.Store, *store.Customer, error) {
	st, err := a.openStore(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	c, err := st.FindCustomer(ctx, ref)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, c, nil
}

func (a *app) exportCustomer(ctx context.Context, ref, out string) error {
	st, c, err := a.openCustomer(ctx, ref)
	if err != nil {
		return err
	}
	defer st.Close()
	exp, err := st.ExportCustomer(ctx, c.ID)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(exp, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if out == "" {
		_, err = a.stdout.Write(b)
		return err
	}
	if err := os.WriteFile(out, b, 0o600); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	fmt.Fprintf(a.stdout, "exported customer %d to %s\n", c.ID, out)
	return nil
}

func (a *app) eraseCustomer(ctx context.Context, ref string) error {
	st, c, err := a.openCustomer(ctx, ref)
	if err != nil {
		return err
	}
	defer st.Close()
	targets, closeTargets, warn := a.eraseTargets(ctx)
	defer closeTargets()
	rep, err := worker.Erase(ctx, st, c.ID, targets)
	if err != nil {
		return err
	}
	state := "erased"
	if rep.Already {
		state = "was already erased"
	}
	fmt.Fprintf(a.stdout, "customer %d %s (%s): %d waiting messages cancelled, %d addresses kept as hashed suppressions, "+
		"%d webhook payloads removed, %d queue tasks and %d outbox messages removed\n", c.ID, state,
		rep.ErasedAt.Format("2006-01-02 15:04:05Z"), rep.Cancelled, rep.Suppressed, rep.InboxEvents, rep.Tasks, rep.Messages)
	if warn != "" {
		fmt.Fprintln(a.stderr, warn)
	}
	return nil
}

// eraseTargets opens the queue and the outbox an erasure cleans. A Redis
// that does not answer is skipped with a warning (the database erasure is
// what matters most; running erase again finishes the rest); an embedded
// Redis holds nothing between processes.
func (a *app) eraseTargets(ctx context.Context) (worker.EraseTargets, func(), string) {
	var to worker.EraseTargets
	closeAll, warn := func() {}, ""
	if _, err := os.Stat(a.cfg.OutboxDir); err == nil {
		from, _ := mail.ParseAddress(a.cfg.SMTPFrom)
		id := email.Identity{}
		if from != nil {
			id.From = from.Address
		}
		if box, err := outbox.New(a.cfg.OutboxDir, id); err == nil {
			to.Outbox = box
		}
	}
	if a.cfg.RedisURL == "embedded" {
		return to, closeAll, warn
	}
	target, err := redisconn.Parse(a.cfg.RedisURL)
	if err != nil {
		return to, closeAll, "queue not cleaned: TIDINGS_REDIS_URL: " + err.Error()
	}
	rdb := target.Client(0)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return to, closeAll, fmt.Sprintf("queue not cleaned: redis at %s is not reachable (%v); run erase again when it answers", target.Addr(), err)
	}
	to.Inspector = asynq.NewInspectorFromRedisClient(rdb)
	return to, func() { rdb.Close() }, warn
}
