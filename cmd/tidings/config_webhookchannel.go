package main

import (
	"strings"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/webhook"
	"github.com/tidings-crm/tidings/stdwebhook"
)

// WebhookChannelConfig is the webhook channel (docs/campaigns.md#the-webhook-channel):
// the only hosts campaigns may post to, and the secret every post is
// signed with.
type WebhookChannelConfig struct {
	Hosts  string // hooks.slack.com, *.example.com, 10.0.0.7:9000: comma or space separated
	Secret string // whsec_<base64>

	hosts []string
}

func (w *WebhookChannelConfig) settings() []setting {
	return []setting{
		{flag: "webhook-hosts", env: "TIDINGS_WEBHOOK_HOSTS", yaml: "webhook_hosts", def: "",
			help: "hosts the webhook channel may post to, comma-separated: hooks.slack.com, push.example.com:8443, *.example.com, or an address 10.0.0.7:9000 (a private address must be listed itself); empty: no campaign may use the webhook channel", str: &w.Hosts},
		{flag: "webhook-channel-secret", env: "TIDINGS_WEBHOOK_CHANNEL_SECRET", yaml: "webhook_channel_secret", def: "",
			help: "Standard Webhooks secret whsec_<base64> the webhook channel signs each post with; required with TIDINGS_WEBHOOK_HOSTS", str: &w.Secret, secret: true},
	}
}

// validate reads the hosts, reporting a bad setting to bad.
func (w *WebhookChannelConfig) validate(bad func(env, format string, args ...any)) {
	w.hosts = strings.FieldsFunc(w.Hosts, func(r rune) bool { return r == ',' || r == ' ' })
	if _, err := webhook.ParseHosts(w.hosts); err != nil {
		bad("TIDINGS_WEBHOOK_HOSTS", "%v", err)
	}
	switch {
	case len(w.hosts) > 0 && w.Secret == "":
		bad("TIDINGS_WEBHOOK_CHANNEL_SECRET", "is required with TIDINGS_WEBHOOK_HOSTS (the channel signs every post); set it to whsec_$(openssl rand -base64 32)")
	case w.Secret != "" && len(w.hosts) == 0:
		bad("TIDINGS_WEBHOOK_HOSTS", "is empty but TIDINGS_WEBHOOK_CHANNEL_SECRET is set; list the hosts the webhook channel may post to, e.g. hooks.slack.com")
	case w.Secret != "":
		if _, err := stdwebhook.ParseSecret(w.Secret); err != nil {
			bad("TIDINGS_WEBHOOK_CHANNEL_SECRET", "must be whsec_ followed by base64, e.g. whsec_$(openssl rand -base64 32)")
		}
	}
}

// channel returns the webhook channel, or nil when no host is listed.
func (w *WebhookChannelConfig) channel() (channels.Channel, error) {
	if len(w.hosts) == 0 {
		return nil, nil
	}
	return webhook.New(webhook.Config{Hosts: w.hosts, Secret: w.Secret})
}
