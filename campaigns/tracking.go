package campaigns

import (
	"go.yaml.in/yaml/v3"
)

// Tracking says what a campaign measures of its emails once they are
// delivered: Opens puts a 1x1 open pixel in the HTML part, Clicks rewrites
// the HTML part's links into signed redirects (and adds a hidden honeypot
// link that only machines follow). Both are off unless the campaign file
// turns them on (`tracking: {opens: true, clicks: true}`); SMS and
// text-only emails are never tracked. docs/privacy.md says what is kept.
type Tracking struct {
	Opens  bool
	Clicks bool
}

// Any reports whether anything is tracked.
func (t Tracking) Any() bool { return t.Opens || t.Clicks }

// tracking reads `tracking: {opens: BOOL, clicks: BOOL}`.
func (p *parser) tracking(n *yaml.Node, c *Campaign) {
	if n == nil {
		return
	}
	f, ok := p.mapping(n, "tracking", []string{"opens", "clicks"})
	if !ok {
		return
	}
	if v := f.get("opens"); v != nil {
		c.Tracking.Opens, _ = p.boolean(v, "tracking.opens")
	}
	if v := f.get("clicks"); v != nil {
		c.Tracking.Clicks, _ = p.boolean(v, "tracking.clicks")
	}
	if len(resolve(n).Content) == 0 {
		p.errorf(n, "tracking needs opens or clicks, e.g. tracking: {opens: true, clicks: true}")
	}
}

// checkTracking warns about a tracking option with nothing to track: a
// campaign without email, or whose emails have no html part (opens and
// clicks are measured in HTML only).
func (p *parser) checkTracking(n *yaml.Node, c *Campaign) {
	if n == nil || !c.Tracking.Any() || c.Journey != nil {
		return
	}
	if !containsChannel(c.Channels, Email) {
		p.warnf(n, "tracking has no effect: the campaign sends no email (SMS is never tracked)")
		return
	}
	if c.messages != nil && !c.messages.hasHTML(Email) {
		p.warnf(n, "tracking has no effect: the email has no html part (opens and clicks are measured in HTML only)")
	}
}

func containsChannel(list []Channel, ch Channel) bool {
	for _, c := range list {
		if c == ch {
			return true
		}
	}
	return false
}

// hasHTML reports whether any of the channel's messages (the campaign's or
// a variant's, in any locale) has an html part.
func (s *messageSet) hasHTML(ch Channel) bool {
	sets := []*channelMessages{s.channels[ch]}
	for _, v := range s.variants {
		sets = append(sets, v[ch])
	}
	for _, cm := range sets {
		if cm == nil {
			continue
		}
		if cm.base[fieldHTML] != nil {
			return true
		}
		for _, loc := range cm.locales {
			if loc[fieldHTML] != nil {
				return true
			}
		}
	}
	return false
}

// trackedEventAliases are the short names a journey's wait_for may use for
// the events tracking writes: `event: click` waits for email_clicked.
var trackedEventAliases = map[string]string{"click": "email_clicked", "open": "email_opened"}

// trackedEvent is typ with a tracking alias replaced by its event type.
func trackedEvent(typ string) string {
	if t, ok := trackedEventAliases[typ]; ok {
		return t
	}
	return typ
}
