package campaigns

import (
	"regexp"
	"slices"

	"github.com/tidings-crm/tidings/rules"
	"go.yaml.in/yaml/v3"
)

// Event types are whatever a shop sends to the events API (cart_updated,
// signup, nps_answered...): a campaign may name any, so a file cannot be
// checked against a closed list. It is checked for the form of a type, and
// a name one letter away from a common type is a warning (purchse would
// silently never fire).

// CommonEventTypes are the types a did-you-mean compares a new name with:
// the purchase Tidings itself knows, and the ones the docs use.
var CommonEventTypes = []string{"purchase", "cart_updated", "cart_emptied", "product_viewed", "signup",
	"nps_answered", "csat_answered", "checkout_started", "order_refunded", "complaint_opened", "complaint_resolved"}

// eventTypeRE is the form of an event type (the events API's rule).
var eventTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// eventType reads an event type at n: an error when it is not the form of
// one, a warning when it is close to a common type without being one.
func (p *parser) eventType(n *yaml.Node, what string) (string, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return "", false
	}
	if !eventTypeRE.MatchString(s) {
		p.errorf(n, "%s: %q is not an event type: lowercase letters, digits and _, starting with a letter, e.g. cart_updated%s",
			what, s, didYouMean(s, CommonEventTypes))
		return "", false
	}
	if !slices.Contains(CommonEventTypes, s) {
		if hint := didYouMean(s, CommonEventTypes); hint != "" {
			p.warnf(n, "%s: %q is not a common event type%s (any type the shop sends works; ignore this if %q is one)",
				what, s, hint, s)
		}
	}
	return s, true
}

// EventUses is what the campaign's audience rule and trigger rules read of
// the customers' event history, for one read per page of an audience.
func (c *Campaign) EventUses() []rules.EventUse {
	var lists [][]rules.EventUse
	for _, p := range []*rules.Program{c.Audience, c.triggerRule()} {
		if p != nil {
			lists = append(lists, p.EventUses())
		}
	}
	return rules.MergeUses(lists...)
}

// ReactionUses is what reacting to an event of type typ may evaluate for
// this campaign: its exit filters and, when typ triggers it, its trigger's
// filter and its audience.
func (c *Campaign) ReactionUses(typ string) []rules.EventUse {
	var lists [][]rules.EventUse
	for _, f := range c.Exits {
		if f.Event == typ && f.Where != nil {
			lists = append(lists, f.Where.EventUses())
		}
	}
	if t := c.Trigger.Event; c.Trigger.Kind == TriggerEvent && t != nil && t.Event == typ {
		if t.Where != nil {
			lists = append(lists, t.Where.EventUses())
		}
		if c.Audience != nil {
			lists = append(lists, c.Audience.EventUses())
		}
	}
	return rules.MergeUses(lists...)
}

// triggerRule is the rule of a churn-risk trigger, nil for the others.
func (c *Campaign) triggerRule() *rules.Program {
	if c.Trigger.Kind == TriggerChurnRisk && c.Trigger.ChurnRisk != nil {
		return c.Trigger.ChurnRisk.Rule
	}
	return nil
}
