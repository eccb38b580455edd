package campaigns

import (
	"fmt"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tidings-crm/tidings/channels/webhook"
)

// webhookURL checks a messages.webhook.url template: its scheme and host
// are written out (a template may fill the path and query, never the
// host), and the host is in Settings.WebhookHosts. So no customer data can
// make the channel post elsewhere; Render checks the rendered URL again.
// It reports whether the url is usable and records its origin in t.
func (p *parser) webhookURL(n *yaml.Node, t *msgTemplate, what string) bool {
	origin, err := fixedOrigin(t.src)
	if err != nil {
		p.errorf(n, "%s: %v", what, err)
		return false
	}
	u, _ := url.Parse(origin)
	hosts, err := webhook.ParseHosts(p.settings.WebhookHosts)
	if err != nil {
		p.errorf(n, "%s: TIDINGS_WEBHOOK_HOSTS: %v", what, err)
		return false
	}
	if !hosts.Allows(u) {
		listed := strings.Join(p.settings.WebhookHosts, ", ")
		if listed == "" {
			listed = "empty"
		}
		p.errorf(n, "%s: host %s is not in TIDINGS_WEBHOOK_HOSTS (%s); add it there or post to a listed host", what, u.Host, listed)
		return false
	}
	t.origin = origin
	return true
}

// fixedOrigin returns "scheme://host[:port]" of a url template whose
// scheme and host come before any {{ action }} and end with "/", "?" or
// the end of the url.
func fixedOrigin(src string) (string, error) {
	s := strings.TrimSpace(src)
	literal := s
	if i := strings.Index(s, "{{"); i >= 0 {
		literal = s[:i]
	}
	scheme, rest, ok := strings.Cut(literal, "://")
	if !ok || (scheme != "https" && scheme != "http") {
		return "", fmt.Errorf("%q must start with https:// (or http://) and a host written out, e.g. https://hooks.slack.com/services/...", clip(s))
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 && len(literal) < len(s) {
		return "", fmt.Errorf("the host of %q must be written out: a template may fill the path and query, not the host", clip(s))
	}
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	u, err := url.Parse(scheme + "://" + authority)
	if err != nil || authority == "" || strings.Contains(authority, "@") || u.Host != authority {
		return "", fmt.Errorf("%q has no usable host (write https://host/path, without user:password@)", clip(s))
	}
	return scheme + "://" + authority, nil
}

// clip shortens a url for a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// checkOrigin verifies a rendered webhook url keeps the template's origin.
func checkOrigin(rendered, origin string) error {
	u, err := url.Parse(strings.TrimSpace(rendered))
	if err != nil || u.Scheme+"://"+u.Host != origin || u.User != nil {
		return fmt.Errorf("the rendered webhook url does not stay on %s; refused", origin)
	}
	return nil
}
