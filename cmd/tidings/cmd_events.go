package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings-crm/tidings/triggers"
)

func (a *app) eventsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Send test events, and replay events whose reactions failed",
	}
	cmd.AddCommand(a.eventsSendCommand(), a.eventsReplayCommand())
	return cmd
}

func (a *app) eventsSendCommand() *cobra.Command {
	var batch, anyType bool
	var id string
	c := &cobra.Command{
		Use:   "send FILE.json",
		Short: "Sign an event with TIDINGS_WEBHOOK_SECRET and POST it to TIDINGS_PUBLIC_URL",
		Long: `send reads a purchase event (or, with --batch, {"events": [...]}) from FILE.json
("-" for standard input), signs it per Standard Webhooks with the first secret
of TIDINGS_WEBHOOK_SECRET, and posts it to TIDINGS_PUBLIC_URL/v1/events/purchase;
with --any, an event of any type ({"type", "customer", "time", "properties"})
to /v1/events (or /v1/events/batch), under --id or a fresh webhook-id.
It prints the HTTP status and the answer: use it to test a shop's integration.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.sendEvent(cmd, args[0], batch, anyType, id)
		},
	}
	c.Flags().BoolVar(&batch, "batch", false, "post to the batch endpoint")
	c.Flags().BoolVar(&anyType, "any", false, "post to /v1/events (any event type) instead of /v1/events/purchase")
	c.Flags().StringVar(&id, "id", "", "the webhook-id (default: the body's event_id, else a fresh one)")
	return c
}

func (a *app) sendEvent(cmd *cobra.Command, file string, batch, anyType bool, id string) error {
	secrets := strings.Fields(a.cfg.WebhookSecret)
	if len(secrets) == 0 {
		return errors.New("TIDINGS_WEBHOOK_SECRET is not set: it signs the event")
	}
	var body []byte
	var err error
	if file == "-" {
		body, err = io.ReadAll(os.Stdin)
	} else {
		body, err = os.ReadFile(file)
	}
	if err != nil {
		return fmt.Errorf("read event: %w", err)
	}
	if id == "" {
		id = eventID(body)
	}
	path := triggers.PathPurchase
	switch {
	case anyType && batch:
		path = triggers.PathEventsBatch
	case anyType:
		path = triggers.PathEvents
	case batch:
		path = triggers.PathPurchaseBatch
	}
	req, err := triggers.SignedRequest(cmd.Context(), secrets[0], strings.TrimSuffix(a.cfg.PublicURL, "/")+path, id, time.Now(), body)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("post event: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Fprintf(a.stdout, "%s\n%s", resp.Status, answer)
	if resp.StatusCode >= 300 {
		return exitError{code: 1}
	}
	return nil
}

// eventID is the webhook-id for a body: its event_id when it has one,
// otherwise a fresh id.
func eventID(body []byte) string {
	var ev struct {
		EventID string `json:"event_id"`
	}
	if json.Unmarshal(body, &ev) == nil && ev.EventID != "" {
		return ev.EventID
	}
	return fmt.Sprintf("msg_%d", time.Now().UnixNano())
}

func (a *app) eventsReplayCommand() *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "replay",
		Short: "Re-process inbox events whose reactions failed or never ran",
		Long: `replay runs, in this process, the reactions (event-triggered campaigns, exit
conditions) of webhook events that failed, or that are still waiting more than
a minute after they were received (their task was lost). Processing an event
twice is harmless: each message is written once to the ledger.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rt, err := a.openRuntime(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer rt.close()
			done, failed, err := rt.engine.ReplayEvents(cmd.Context(), limit)
			fmt.Fprintf(a.stdout, "replayed %d events, %d failed\n", done, failed)
			if err != nil {
				return fmt.Errorf("first failure: %w", err)
			}
			return nil
		},
	}
	c.Flags().IntVar(&limit, "limit", 10000, "most events to replay")
	return c
}
