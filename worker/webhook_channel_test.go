package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/webhook"
	"github.com/tidings-crm/tidings/stdwebhook"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

const chatSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// chatPost is one post a chat receiver accepted.
type chatPost struct {
	ID, Path string
	Body     struct {
		Text       string `json:"text"`
		Campaign   string `json:"campaign"`
		DeliveryID int64  `json:"delivery_id"`
	}
}

// chatReceiver is a Slack-like endpoint that verifies the Standard Webhooks
// signature (401 without it) and keeps what it accepted.
type chatReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	posts []chatPost
}

func startChat(t *testing.T) *chatReceiver {
	t.Helper()
	v, err := stdwebhook.NewVerifier(chatSecret)
	if err != nil {
		t.Fatal(err)
	}
	r := &chatReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		id := req.Header.Get(stdwebhook.HeaderID)
		if err := v.Verify(id, req.Header.Get(stdwebhook.HeaderTimestamp), req.Header.Get(stdwebhook.HeaderSignature), raw); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		p := chatPost{ID: id, Path: req.URL.RequestURI()}
		if err := json.Unmarshal(raw, &p.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.posts = append(r.posts, p)
		r.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *chatReceiver) received() []chatPost {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chatPost(nil), r.posts...)
}

func (r *chatReceiver) host() string { return strings.TrimPrefix(r.URL, "http://") }

const chatAlertYAML = `id: %s
name: Big spender alert to the team chat
trigger: {schedule: {cron: "0 7 * * *", time_zone: UTC}}
audience: "true"
channels: [webhook]
recipient: team
frequency: {class: alert}
messages:
  webhook:
    url: "%s/services/{{ .external_id }}?campaign={{ .campaign.id }}"
    text: "Customer {{ .external_id }} needs a call"
`

// TestWebhookChannelPostsSignedTeamAlerts runs team alerts through the
// real worker path to a chat receiver that checks the Standard Webhooks
// signature: each customer's alert arrives once, signed, with its
// delivery's webhook-id, at the URL rendered from the template, and the
// ledger records it sent. A campaign whose host the configuration listed
// when it loaded but the channel no longer allows fails at the send
// (permanent, nothing posted): the allowlist holds at load and at send. On
// both databases.
func TestWebhookChannelPostsSignedTeamAlerts(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			chat, other := startChat(t), startChat(t)
			sender, err := webhook.New(webhook.Config{Hosts: []string{chat.host()}, Secret: chatSecret})
			if err != nil {
				t.Fatal(err)
			}
			b.chans[channels.Webhook] = sender
			b.addCustomers(t, 3, nil)
			settings := campaigns.Settings{WebhookHosts: []string{chat.host(), other.host()}}
			load := func(id, base string) *campaigns.Campaign {
				src := fmt.Sprintf(chatAlertYAML, id, base)
				c, problems := settings.Parse(id+".yaml", []byte(src))
				if campaigns.HasErrors(problems) {
					t.Fatalf("campaign does not load: %v", problems)
				}
				return c
			}
			start := time.Now().UTC().Truncate(time.Second)
			e := b.engineWith(t, worker.Options{}, load("chat", chat.URL), load("elsewhere", other.URL))
			b.acceptWorker(t, e, workerConfig{})
			for _, id := range []string{"chat", "elsewhere"} {
				if err := e.Enqueue(context.Background(), id, "k1", start); err != nil {
					t.Fatal(err)
				}
				b.waitSettled(t, id, "k1", start, 30*time.Second)
			}
			rows := b.deliveries(t, "chat")
			posts := chat.received()
			if len(posts) != 3 || len(rows) != 3 {
				t.Fatalf("receiver got %d posts for %d rows, want 3 and 3: %+v", len(posts), len(rows), posts)
			}
			byID := map[string]chatPost{}
			for _, p := range posts {
				byID[p.ID] = p
			}
			for ext, d := range rows {
				p, ok := byID[webhook.MessageID(d.ID)]
				switch {
				case d.Status != store.StatusSent || d.Channel != channels.Webhook || d.ProviderID != webhook.MessageID(d.ID):
					t.Errorf("%s: %s on %s as %q (%q), want sent by webhook", ext, d.Status, d.Channel, d.ProviderID, d.Error)
				case !ok:
					t.Errorf("%s: no post with webhook-id %s", ext, webhook.MessageID(d.ID))
				case p.Path != "/services/"+ext+"?campaign=chat" || p.Body.Text != "Customer "+ext+" needs a call" ||
					p.Body.Campaign != "chat" || p.Body.DeliveryID != d.ID:
					t.Errorf("%s: post %+v", ext, p)
				}
			}
			for ext, d := range b.deliveries(t, "elsewhere") {
				if d.Status != store.StatusFailed || !strings.Contains(string(d.Error), "is not in TIDINGS_WEBHOOK_HOSTS") {
					t.Errorf("%s on an unlisted host: %s (%q), want failed naming TIDINGS_WEBHOOK_HOSTS", ext, d.Status, d.Error)
				}
			}
			if got := other.received(); len(got) != 0 {
				t.Errorf("the unlisted host received %d posts", len(got))
			}
		})
	}
}

const chatJourneyYAML = `id: nudge
name: A note, then the team if nothing happened
trigger: {schedule: {cron: "0 10 * * MON", time_zone: UTC}}
audience: "true"
occurrence: every run
steps:
  - id: hello
    send:
      channels: [email]
      messages:
        email: {subject: "Hello", text: "Hi {{ .external_id }}"}
  - id: pause
    wait: 1d
  - id: tell-the-team
    send:
      channels: [webhook]
      recipient: team
      messages:
        webhook: {url: "%s/hooks/{{ .external_id }}", text: "{{ .external_id }} has not answered"}
`

// TestWebhookChannelInAJourneyStep: a journey's send step alerts the team
// by webhook a day after its note to the customer; the chat receiver gets
// one signed post per customer and the step's ledger rows are sent, on
// both databases.
func TestWebhookChannelInAJourneyStep(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			chat := startChat(t)
			sender, err := webhook.New(webhook.Config{Hosts: []string{chat.host()}, Secret: chatSecret})
			if err != nil {
				t.Fatal(err)
			}
			b.chans[channels.Webhook] = sender
			w := startJourneyWorld(t, b, 2, func() *campaigns.Campaign {
				c, problems := campaigns.Settings{WebhookHosts: []string{chat.host()}}.Parse("nudge.yaml", []byte(fmt.Sprintf(chatJourneyYAML, chat.URL)))
				if campaigns.HasErrors(problems) {
					t.Fatal(problems)
				}
				return c
			})
			w.enter(t, "nudge", "run-1")
			w.sweep(t)
			w.at(24 * time.Hour)
			w.sweep(t)
			checkSteps(t, w.steps(t, "nudge"), map[string]string{"c1": "run-1/hello#1:sent run-1/tell-the-team#3:sent",
				"c2": "run-1/hello#1:sent run-1/tell-the-team#3:sent"})
			posts := map[string]string{}
			for _, p := range chat.received() {
				posts[p.Path] = p.Body.Text
			}
			if len(posts) != 2 || posts["/hooks/c1"] != "c1 has not answered" || posts["/hooks/c2"] != "c2 has not answered" {
				t.Fatalf("chat received %v, want one signed post per customer", chat.received())
			}
		})
	}
}
