package campaigns

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (p *parser) recipient(n *yaml.Node, c *Campaign) {
	n = resolve(n)
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		if s, _ := p.oneOf(n, "recipient", "customer", "team"); s == "team" {
			c.Recipient.Team = &Team{}
			p.teamAddresses(n, c)
		}
		return
	}
	f, ok := p.mapping(n, "recipient", []string{"team"})
	if !ok || f.get("team") == nil {
		return
	}
	tf, ok := p.mapping(f.get("team"), "recipient.team", []string{"email", "sms"})
	if !ok {
		return
	}
	team := &Team{}
	if e := tf.get("email"); e != nil {
		if s, ok := p.str(e, "recipient.team.email"); ok {
			if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
				p.errorf(e, "recipient.team.email %q is not an email address", s)
			}
			team.Email = s
		}
	}
	if e := tf.get("sms"); e != nil {
		if s, ok := p.str(e, "recipient.team.sms"); ok {
			if !e164RE.MatchString(s) {
				p.errorf(e, "recipient.team.sms %q must be a phone number in international form, e.g. +33612345678", s)
			}
			team.SMS = s
		}
	}
	c.Recipient.Team = team
	p.teamAddresses(tf.node, c)
}

// teamAddresses checks that the team has an address for each listed
// channel but webhook, whose URL is in messages.webhook.url.
func (p *parser) teamAddresses(n *yaml.Node, c *Campaign) {
	team := c.Recipient.Team
	for _, ch := range c.Channels {
		if (ch == Email && team.Email == "") || (ch == SMS && team.SMS == "") {
			p.errorf(n, "recipient.team has no %s address but channels lists %s; write recipient: {team: {%s: ...}}", ch, ch, ch)
		}
	}
}

// webhookNeedsTeam refuses the webhook channel for messages to customers:
// it posts to a URL the campaign names (a team's chat, a gateway), not to
// an address the customer consented to.
func (p *parser) webhookNeedsTeam(n *yaml.Node, c *Campaign) {
	if n == nil || !slices.Contains(c.Channels, Webhook) || !c.Recipient.IsCustomer() {
		return
	}
	p.errorf(n, "channel webhook posts to the URL in messages.webhook.url, not to the customer: "+
		"add recipient: team (an alert about the customer to the team's chat or gateway)")
}

func (p *parser) offer(n *yaml.Node, c *Campaign) {
	if n == nil {
		return
	}
	f, ok := p.mapping(n, "offer", nil)
	if !ok {
		return
	}
	c.Offer = map[string]string{}
	for k, v := range f.val {
		if !isIdent(k) {
			p.errorf(f.key[k], "offer key %q must be a simple name (letters, digits, _) to be usable as .offer.%s", k, k)
			continue
		}
		if s, ok := p.str(v, "offer."+k); ok {
			c.Offer[k] = s
		}
	}
}

func isIdent(s string) bool {
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}

// holdout reads "10%" or 0.1; it must be in [0, 1).
func (p *parser) holdout(n *yaml.Node, c *Campaign) {
	if n == nil {
		return
	}
	s, ok := p.str(n, "holdout")
	if !ok {
		return
	}
	v, err := ParseShare(s)
	switch {
	case errors.Is(err, errShareRange):
		p.errorf(n, "holdout %s is out of range: it must be at least 0%% and below 100%%", s)
	case err != nil:
		p.errorf(n, `holdout must be a share such as "10%%" or 0.1, not %q`, s)
	default:
		c.Holdout = v
	}
}

// errShareRange is ParseShare's error for a share outside [0, 1).
var errShareRange = errors.New("a share must be at least 0% and below 100%")

// ParseShare reads a share of customers written "10%" or 0.1, at least 0
// and below 1 (a campaign's holdout, the global holdout).
func ParseShare(s string) (float64, error) {
	raw := strings.TrimSpace(s)
	pct := strings.HasSuffix(raw, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(raw, "%")), 64)
	if err != nil {
		return 0, fmt.Errorf(`%q is not a share: write it as "10%%" or 0.1`, s)
	}
	if pct {
		v /= 100
	}
	if v < 0 || v >= 1 {
		return 0, errShareRange
	}
	return v, nil
}

func (p *parser) frequency(n *yaml.Node, c *Campaign) {
	if n == nil {
		return
	}
	f, ok := p.mapping(n, "frequency", []string{"class", "priority"})
	if !ok {
		return
	}
	if cl := f.get("class"); cl != nil {
		s, _ := p.oneOf(cl, "frequency.class", string(ClassPromotional), string(ClassTransactional), string(ClassAlert))
		if s != "" {
			c.Frequency.Class = Class(s)
		}
	}
	if pr := f.get("priority"); pr != nil {
		c.Frequency.Priority, _ = p.integer(pr, "frequency.priority")
	}
}

// occurrence reads the key, or picks a default that fits the trigger.
// Inactivity and churn-risk triggers fire every day, so they must say.
func (p *parser) occurrence(n *yaml.Node, c *Campaign) {
	if n == nil {
		switch c.Trigger.Kind {
		case TriggerBirthday:
			c.Occurrence = Occurrence{Kind: OncePerYear}
		case TriggerInactivity, TriggerChurnRisk:
			p.errorf(p.root, `missing required key "occurrence" for the %s trigger (it fires daily), e.g. occurrence: once per 90 days`, c.Trigger.Kind)
		default:
			c.Occurrence = Occurrence{Kind: EveryRun}
		}
		return
	}
	s, ok := p.str(n, "occurrence")
	if !ok {
		return
	}
	o, err := ParseOccurrence(s)
	if err != nil {
		p.errorf(n, "occurrence: %v", err)
		return
	}
	c.Occurrence = o
}

// exitOn reads exit_on: event types, or {event: TYPE, where: RULE} whose
// rule filters the event. It sets c.ExitOn and c.Exits and returns the
// filters.
func (p *parser) exitOn(n *yaml.Node, c *Campaign, journey bool) []EventFilter {
	var out []EventFilter
	defer func() { c.Exits = out }()
	for _, item := range p.list(n, "exit_on") {
		f, ok := p.exitFilter(item, journey)
		if !ok {
			continue
		}
		out = append(out, f)
		if !slices.Contains(c.ExitOn, f.Event) {
			c.ExitOn = append(c.ExitOn, f.Event)
		}
	}
	return out
}

func (p *parser) exitFilter(item *yaml.Node, journey bool) (EventFilter, bool) {
	if item.Kind != yaml.MappingNode {
		s, ok := p.eventType(item, "exit_on")
		return EventFilter{Event: s}, ok
	}
	f, ok := p.mapping(item, "exit_on", []string{"event", "where"})
	if !ok {
		return EventFilter{}, false
	}
	en := f.get("event")
	if en == nil {
		p.errorf(item, "exit_on needs event, e.g. {event: purchase, where: \"event.amount > 20\"}")
		return EventFilter{}, false
	}
	s, ok := p.eventType(en, "exit_on.event")
	out := EventFilter{Event: s}
	if wn := f.get("where"); wn != nil {
		out.Where = p.rule(wn, "exit_on.where")
		ok = ok && out.Where != nil
	}
	return out, ok
}
