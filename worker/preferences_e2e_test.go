package worker_test

import (
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels/smtptest"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/unsubscribe"
	"github.com/tidings-crm/tidings/worker"
)

// This test plays the customer's side too: it follows the link of a
// received email to the preference page (web/unsubscribe, served over
// HTTP), the one place a test of the engine reaches up to the web layer.

const prefsNewsYAML = `id: news
name: News
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: email_consent
channels: [email]
topic: newsletter
frequency: {class: transactional} # four messages in a test: above the promotional cap
messages:
  email: {subject: "News", text: "News. Your preferences: {{ .preferences_url }}"}
`

const prefsDealsYAML = `id: deals
name: Deals
trigger: {schedule: {cron: "0 10 * * MON"}}
audience: email_consent
channels: [email]
topic: offers
frequency: {class: transactional}
messages:
  email: {subject: "Deals", text: "Deals. Your preferences: {{ .preferences_url }}"}
`

var prefsLinkRE = regexp.MustCompile(`https?://[^\s]+/p/[A-Za-z0-9_.-]+`)

// TestPreferencePageStopsThatTopicOnly: a customer follows the preference
// link of an email (as received by a real SMTP server), unticks the
// newsletter and saves; the next run sends them the offers and not the
// newsletter, and everyone else both.
func TestPreferencePageStopsThatTopicOnly(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setup(t, d)
			b.addCustomers(t, 2, nil)
			topics, _ := campaigns.ParseTopics("newsletter=Weekly newsletter, offers=Offers")
			signer := unsubscribe.Signer{Key: []byte("a signing key of the preference page test")}
			page, err := unsubscribe.Handler(unsubscribe.Options{Store: b.st, Signer: signer, Topics: topics, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(page)
			t.Cleanup(srv.Close)
			s := campaigns.Settings{Topics: topics}
			var list []*campaigns.Campaign
			for _, src := range []string{prefsNewsYAML, prefsDealsYAML} {
				c, problems := s.Parse("prefs.yaml", []byte(src))
				if c == nil {
					t.Fatal(problems)
				}
				list = append(list, c)
			}
			e := b.engineWith(t, worker.Options{Topics: topics, PreferencesURL: func(d *store.Delivery) string {
				return signer.PreferencesURL(srv.URL, unsubscribe.Subject{DeliveryID: d.ID, CustomerID: d.CustomerID,
					Channel: d.Channel, Campaign: d.CampaignID})
			}}, list...)
			b.startWorker(t, e, 4)
			run := func(key string) {
				for _, c := range list {
					if err := e.Enqueue(ctx, c.ID, key, time.Now()); err != nil {
						t.Fatal(err)
					}
					b.waitRun(t, c.ID, key, 30*time.Second)
				}
			}
			run("k1")
			msgs := b.smtp.WaitMessages(t, 4, 10*time.Second)
			link := ""
			for _, m := range msgs {
				if m.To[0] == "customer1@example.com" && strings.Contains(string(m.Data), "Subject: News") {
					link = prefsLinkRE.FindString(bodyOf(t, m))
				}
			}
			if link == "" {
				t.Fatal("the newsletter to customer1 carries no preference link")
			}
			untickNewsletter(t, link)

			run("k2")
			b.smtp.WaitMessages(t, 7, 10*time.Second)
			for _, c := range []struct{ campaign, ext, want string }{
				{"news", "c1", "suppressed topic_opt_out: newsletter"}, {"deals", "c1", "sent "},
				{"news", "c2", "sent "}, {"deals", "c2", "sent "},
			} {
				row := b.deliveries(t, c.campaign, "k2")[c.ext]
				if got := fmt.Sprintf("%s %s", row.Status, row.Error); got != c.want {
					t.Errorf("%s to %s on the second run: %q, want %q", c.campaign, c.ext, got, c.want)
				}
			}
			if n := len(b.smtp.Messages()); n != 7 {
				t.Errorf("the SMTP server received %d messages, want 7 (4, then 3)", n)
			}
		})
	}
}

// untickNewsletter opens the preference page and posts its form (as a
// browser without JavaScript would) with only offers ticked.
func untickNewsletter(t *testing.T, link string) {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(body))
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("preference page: %d\n%s", resp.StatusCode, body)
	}
	resp, err = http.PostForm(link, url.Values{"csrf": {m[1]}, "action": {"save"}, "topic": {"offers"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("save: %d", resp.StatusCode)
	}
}

// bodyOf decodes a received single-part message's body.
func bodyOf(t *testing.T, m smtptest.Message) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
