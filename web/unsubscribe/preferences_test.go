package unsubscribe_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/unsubscribe"
)

var testTopics = []campaigns.Topic{{ID: "newsletter", Label: "Weekly newsletter"}, {ID: "offers", Label: "Offers"}}

// prefsSetup is a bundle whose handler lists testTopics, with one
// customer and the link to their preference page.
func prefsSetup(t *testing.T, d store.Dialect) (*bundle, int64, string) {
	t.Helper()
	b := setup(t, d, func(o *unsubscribe.Options) { o.Topics = testTopics })
	id := b.customer(t, "c1", "ann@example.com", "+33612345678", true)
	link := b.signer.PreferencesURL(b.srv.URL, unsubscribe.Subject{DeliveryID: 7, CustomerID: id, Channel: "email", Campaign: "news"})
	return b, id, link
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestPreferencePage: the signed link shows every topic ticked; a form
// post (no script) with newsletter unticked leaves that topic only, and is
// in the consent history; "unsubscribe from all" withdraws email consent;
// a post without the page's token, or a link for unsubscribing, changes
// nothing.
func TestPreferencePage(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b, id, link := prefsSetup(t, d)
			code, body := b.get(t, link)
			if code != http.StatusOK || strings.Count(body, `type="checkbox"`) != 2 || strings.Count(body, " checked") != 2 ||
				!strings.Contains(body, "Weekly newsletter") {
				t.Fatalf("page: %d\n%s", code, body)
			}
			csrf := csrfRE.FindStringSubmatch(body)[1]

			// Refused: no token in the form, another link's token, an unsubscribe link.
			unsubLink := b.signer.URL(b.srv.URL, unsubscribe.Subject{DeliveryID: 7, CustomerID: id, Channel: "email", Campaign: "news"})
			for _, c := range []struct {
				link string
				form url.Values
				want int
			}{
				{link, url.Values{"action": {"save"}}, http.StatusForbidden},
				{link, url.Values{"action": {"save"}, "csrf": {csrf + "x"}}, http.StatusForbidden},
				{strings.Replace(unsubLink, "/u/", "/p/", 1), url.Values{"action": {"save"}, "csrf": {csrf}}, http.StatusBadRequest},
			} {
				if code, _ := b.postForm(t, c.link, c.form); code != c.want {
					t.Errorf("post %v to %s: %d, want %d", c.form, c.link, code, c.want)
				}
			}
			if left, _ := b.st.TopicOptOuts(ctx, id); len(left) != 0 {
				t.Fatalf("a refused post changed the topics: %v", left)
			}

			code, body = b.postForm(t, link, url.Values{"csrf": {csrf}, "action": {"save"}, "topic": {"offers"}})
			if code != http.StatusOK || !strings.Contains(body, `id="saved"`) || strings.Count(body, " checked") != 1 {
				t.Fatalf("save: %d\n%s", code, body)
			}
			if left, err := b.st.TopicOptOuts(ctx, id); err != nil || !slices.Equal(left, []string{"newsletter"}) {
				t.Fatalf("opt-outs = %v, %v; want [newsletter]", left, err)
			}
			hist, _ := b.st.ConsentHistory(ctx, id)
			if len(hist) != 1 || hist[0].Topic != "newsletter" || hist[0].Granted || hist[0].Source != store.ConsentPreferences {
				t.Fatalf("history = %+v", hist)
			}

			code, body = b.postForm(t, link, url.Values{"csrf": {csrf}, "action": {"all"}, "topic": {"offers"}})
			if code != http.StatusOK || !strings.Contains(body, `id="unsubscribed"`) {
				t.Fatalf("all: %d\n%s", code, body)
			}
			c, _ := b.st.CustomerByID(ctx, id)
			if sup, _ := b.st.IsSuppressed(ctx, "email", "ann@example.com"); c.EmailConsent || !sup || !c.SMSConsent {
				t.Fatalf("after unsubscribe from all: email consent %v, suppressed %v, sms consent %v", c.EmailConsent, sup, c.SMSConsent)
			}
		})
	}
}

func (b *bundle) get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := b.client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *bundle) postForm(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := b.client.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
