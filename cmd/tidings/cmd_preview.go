package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

type previewOptions struct {
	customer, channel, variant, locale, at string
}

func (a *app) previewCommand() *cobra.Command {
	var o previewOptions
	cmd := &cobra.Command{
		Use:   "preview CAMPAIGN --customer ID",
		Short: "Render a campaign's messages, or a journey's path, for one customer",
		Long: `preview renders the messages of CAMPAIGN for the customer with the given
external id, in the customer's locale, for every channel of the campaign (or
--channel), and says whether the customer is in the audience now and which
channel would carry the message. Nothing is sent. With --at the customer's
purchase metrics and scores are computed as of that time (a backtest, in
memory: nothing stored is changed).

For a journey (a campaign with steps:) it prints the path the customer
would take from now: each step, the branch taken and why, the waits with
their wake times in the customer's zone, and the message of each send step
on the channel that would carry it. It stops at a wait_for, showing where
each outcome leads.`,
		Example: "  tidings preview birthday-greeting --customer 1042\n  tidings preview win-back-90d --customer 7 --variant b --locale fr\n  tidings preview win-back-sequence --customer 7",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.customer == "" {
				return errors.New("preview: --customer EXTERNAL_ID is required")
			}
			return a.preview(cmd.Context(), args[0], o)
		},
	}
	cmd.Flags().StringVar(&o.customer, "customer", "", "the customer's external id")
	cmd.Flags().StringVar(&o.channel, "channel", "", "only this channel (email or sms)")
	cmd.Flags().StringVar(&o.variant, "variant", "", "render this variant (default: the customer's assigned one)")
	cmd.Flags().StringVar(&o.locale, "locale", "", "render in this locale instead of the customer's")
	cmd.Flags().StringVar(&o.at, "at", "", "evaluate as if now were this time (RFC 3339 or YYYY-MM-DD)")
	return cmd
}

func (a *app) preview(ctx context.Context, id string, o previewOptions) error {
	now, err := parseAt(o.at)
	if err != nil {
		return err
	}
	c, st, err := a.campaignAndStore(ctx, id)
	if err != nil {
		return err
	}
	defer st.Close()
	cust, err := st.CustomerByExternalID(ctx, o.customer)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("preview: no customer with external id %q (import customers first)", o.customer)
	}
	if err != nil {
		return err
	}
	if o.at != "" {
		asOf, err := a.backtest(ctx, st, now, worker.BacktestOptions{AfterID: cust.ID - 1, UpToID: cust.ID})
		if err != nil {
			return err
		}
		asOf.Apply(cust)
	} else if warn := worker.CustomerScoresWarning(c, cust, now); warn != "" {
		fmt.Fprintf(a.stderr, "warning: %s\n", warn)
	}
	env := rules.NewEnv(a.cfg.Location())
	env.Now = now
	worker.FillEnv(env, cust)
	if err := worker.GiveOptOuts(ctx, st, env, cust.ID, c.ReadsTopics()); err != nil {
		return err
	}
	if err := worker.GiveHistory(ctx, st, env, cust.ID, c.EventUses(), now); err != nil {
		return err
	}

	due, err := campaigns.Due(c, env, a.cfg.Location())
	if err == nil && due {
		due, err = c.Audience.Eval(env)
	}
	switch {
	case err != nil:
		fmt.Fprintf(a.stdout, "audience: the rule failed for this customer: %v\n", err)
	case due && c.Journey != nil:
		fmt.Fprintf(a.stdout, "audience: customer %s is in the audience now: they would enter the journey\n", cust.ExternalID)
	case due:
		fmt.Fprintf(a.stdout, "audience: customer %s is in the audience now; channel: %s\n", cust.ExternalID, orDash(string(worker.Reachable(c, env))))
	case c.Journey != nil:
		fmt.Fprintf(a.stdout, "audience: customer %s is NOT in the audience now (trigger or rule): they would not enter; the path anyway:\n", cust.ExternalID)
	default:
		fmt.Fprintf(a.stdout, "audience: customer %s is NOT in the audience now (trigger or rule); rendering anyway\n", cust.ExternalID)
	}
	if c.Journey != nil {
		return a.previewJourney(c, cust, env, o)
	}

	var chans []campaigns.Channel
	for _, ch := range c.Channels {
		if o.channel == "" || string(ch) == o.channel {
			chans = append(chans, ch)
		}
	}
	return a.render(c, cust, env, o, chans)
}

// render prints the messages of c for the customer on the channels chans:
// in --locale or the customer's, in --variant or the customer's own.
func (a *app) render(c *campaigns.Campaign, cust *store.Customer, env *rules.Env, o previewOptions, chans []campaigns.Channel) error {
	variant := o.variant
	if variant == "" {
		variant = worker.AssignVariant(c, cust.ID)
	}
	locale := o.locale
	if locale == "" {
		locale = cust.Locale
	}
	data := c.DataWith(env, variant, campaigns.Links{Unsubscribe: a.cfg.PublicURL + "/u/preview-token",
		Preferences: a.cfg.PublicURL + "/p/preview-token"})
	c.AddSurvey(data, func(score int) string { return fmt.Sprintf("%s/s/preview-%d", a.cfg.PublicURL, score) })
	for _, ch := range chans {
		r, err := campaigns.Render(c, ch, locale, variant, data)
		if err != nil {
			return err
		}
		printRendered(a, ch, variant, locale, r)
	}
	return nil
}

func printRendered(a *app, ch campaigns.Channel, variant, locale string, r campaigns.Rendered) {
	w := a.stdout
	fmt.Fprintf(w, "\n=== %s (variant %s, locale %s) ===\n", ch, orDash(variant), orDash(locale))
	if ch == campaigns.Email {
		if r.FromName != "" {
			fmt.Fprintf(w, "From-Name: %s\n", r.FromName)
		}
		fmt.Fprintf(w, "Subject: %s\n\n", r.Subject)
	}
	if r.URL != "" {
		fmt.Fprintf(w, "POST %s\n\n", r.URL)
	}
	fmt.Fprintln(w, r.Text)
	if r.HTML != "" {
		fmt.Fprintf(w, "--- html ---\n%s\n", r.HTML)
	}
}
