package campaigns

import (
	"strings"
	"testing"
)

// webhookAlert is a team alert to a chat webhook; tests replace URL.
const webhookAlert = `id: vip-chat
name: VIP alert to the team chat
trigger: {event: {type: purchase}}
audience: "true"
channels: [webhook]
recipient: team
frequency: {class: alert}
messages:
  webhook:
    url: URL
    text: "{{ .external_id }} spent {{ money .total_spent \"EUR\" }}"
`

var chatHosts = Settings{WebhookHosts: []string{"hooks.slack.com", "*.chat.example"}}

// TestWebhookURLIsCheckedAtLoad: a webhook url must write out its scheme
// and a host of TIDINGS_WEBHOOK_HOSTS (a template may fill the path and
// query, never the host); each mistake is an error at the url's line and
// column saying what to write.
func TestWebhookURLIsCheckedAtLoad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url string
		settings  Settings
		want      string // "" means valid
	}{
		{"listed host, templated path", `"https://hooks.slack.com/services/{{ .attributes.team }}"`, chatHosts, ""},
		{"wildcard host", `https://ops.chat.example/hook?c={{ .external_id }}`, chatHosts, ""},
		{"host not listed", `https://evil.example/hook`, chatHosts,
			`vip.yaml:10:10: messages.webhook.url: host evil.example is not in TIDINGS_WEBHOOK_HOSTS (hooks.slack.com, *.chat.example); add it there or post to a listed host`},
		{"no host allowed at all", `https://hooks.slack.com/x`, Settings{},
			`vip.yaml:10:10: messages.webhook.url: host hooks.slack.com is not in TIDINGS_WEBHOOK_HOSTS (empty); add it there or post to a listed host`},
		{"templated host", `"https://{{ .attributes.host }}/x"`, chatHosts,
			`the host of "https://{{ .attributes.host }}/x" must be written out`},
		{"host continued by a template", `"https://hooks.slack.com{{ .attributes.rest }}"`, chatHosts,
			`the host of "https://hooks.slack.com{{ .attributes.rest }}" must be written out: a template may fill the path and query, not the host`},
		{"user info", `https://x@hooks.slack.com/y`, chatHosts, `has no usable host`},
		{"not a URL", `hooks.slack.com/services/T1`, chatHosts, `must start with https:// (or http://)`},
		{"port not listed", `https://hooks.slack.com:8443/x`, chatHosts, `host hooks.slack.com:8443 is not in TIDINGS_WEBHOOK_HOSTS`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, problems := tc.settings.Parse("vip.yaml", []byte(strings.Replace(webhookAlert, "URL", tc.url, 1)))
			if tc.want == "" {
				if c == nil || HasErrors(problems) {
					t.Fatalf("want valid, got %v", problems)
				}
				return
			}
			if c != nil || len(problems) != 1 || !strings.Contains(problems[0].String(), tc.want) ||
				!strings.HasPrefix(problems[0].String(), "vip.yaml:10:10: ") {
				t.Fatalf("problems %v\nwant one at vip.yaml:10:10 containing %q", problems, tc.want)
			}
		})
	}
}

// TestWebhookChannelNeedsTheTeam: the webhook channel posts to the
// campaign's URL, so it is for team alerts only, in a campaign and in a
// journey's send step; a team alert by webhook needs no team address.
func TestWebhookChannelNeedsTheTeam(t *testing.T) {
	t.Parallel()
	src := strings.Replace(strings.Replace(webhookAlert, "URL", "https://hooks.slack.com/x", 1), "recipient: team\n", "", 1)
	_, problems := chatHosts.Parse("vip.yaml", []byte(src))
	if len(problems) != 1 || !strings.Contains(problems[0].String(), "vip.yaml:5:11: channel webhook posts to the URL in messages.webhook.url, not to the customer: add recipient: team") {
		t.Fatalf("problems %v, want the webhook channel refused for a customer at channels", problems)
	}
	journey := `id: j
name: J
trigger: {event: {type: purchase}}
audience: "true"
steps:
  - id: tell
    send:
      channels: [webhook, email]
      recipient: team
      messages:
        webhook: {url: "https://hooks.slack.com/x", text: hi}
        email: {subject: s, text: t}
`
	_, problems = chatHosts.Parse("j.yaml", []byte(journey))
	if len(problems) != 1 || !strings.Contains(problems[0].String(), "j.yaml:9:18: recipient.team has no email address but channels lists email") {
		t.Fatalf("problems %v, want the team's missing email address at recipient", problems)
	}
	ok := strings.Replace(journey, "channels: [webhook, email]", "channels: [webhook]", 1)
	ok = strings.Replace(ok, "        email: {subject: s, text: t}\n", "", 1)
	if c, problems := chatHosts.Parse("j.yaml", []byte(ok)); c == nil || HasErrors(problems) {
		t.Fatalf("a journey's webhook team alert: %v", problems)
	}
	missing := strings.Replace(webhookAlert, "    url: URL\n", "", 1)
	if _, problems := chatHosts.Parse("vip.yaml", []byte(missing)); len(problems) != 1 ||
		!strings.Contains(problems[0].Message, "messages.webhook.url is required") {
		t.Fatalf("problems %v, want messages.webhook.url required", problems)
	}
}

// TestRenderWebhook renders the url and text; the url keeps the origin its
// template writes out whatever the data.
func TestRenderWebhook(t *testing.T) {
	t.Parallel()
	src := strings.Replace(webhookAlert, "URL", `"https://hooks.slack.com/services/{{ .attributes.team }}"`, 1)
	c, problems := chatHosts.Parse("vip.yaml", []byte(src))
	if c == nil {
		t.Fatal(problems)
	}
	env := sampleEnv("en")
	env.Attributes = map[string]any{"team": "@evil.example/T1"}
	r, err := Render(c, Webhook, "en", "", c.Data(env, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if r.URL != "https://hooks.slack.com/services/@evil.example/T1" || r.Text != "C-0042 spent €1,234.50" {
		t.Fatalf("rendered %+v", r)
	}
	if err := checkOrigin("https://evil.example/services/T1", "https://hooks.slack.com"); err == nil {
		t.Fatal("a url on another host passed the render check")
	}
}
