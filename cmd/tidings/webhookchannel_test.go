package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const chatAlert = `id: vip-chat
name: VIP alert to the team chat
trigger: {event: {type: purchase}}
audience: "true"
channels: [webhook]
recipient: team
frequency: {class: alert}
messages:
  webhook:
    url: https://hooks.evil.example/services/T1
    text: "{{ .external_id }} bought"
`

// TestValidateChecksWebhookHosts: `tidings validate` reports a webhook url
// whose host TIDINGS_WEBHOOK_HOSTS does not list at its file:line:col and
// passes once the host is listed; hosts without the channel's secret are a
// configuration error naming the setting.
func TestValidateChecksWebhookHosts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "vip-chat.yaml")
	if err := os.WriteFile(path, []byte(chatAlert), 0o644); err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	code, out, _ := cli(t, "--webhook-hosts", "hooks.slack.com", "--webhook-channel-secret", secret, "validate", dir)
	want := path + ":10:10: messages.webhook.url: host hooks.evil.example is not in TIDINGS_WEBHOOK_HOSTS (hooks.slack.com); add it there or post to a listed host"
	if code != 1 || !strings.HasPrefix(out, want) {
		t.Errorf("validate: exit %d\n%s\nwant 1 and %s", code, out, want)
	}
	code, out, errOut := cli(t, "--webhook-hosts", "hooks.slack.com, *.evil.example", "--webhook-channel-secret", secret, "validate", dir)
	if code != 0 {
		t.Errorf("validate with the host listed: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = cli(t, "--webhook-hosts", "hooks.slack.com", "validate", dir)
	if code == 0 || !strings.Contains(errOut, "TIDINGS_WEBHOOK_CHANNEL_SECRET") {
		t.Errorf("hosts without a secret: exit %d, %s", code, errOut)
	}
}
