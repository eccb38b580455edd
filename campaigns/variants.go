package campaigns

import (
	"slices"
	"sort"

	"go.yaml.in/yaml/v3"
)

// reservedArms are the names the campaign report gives its own rows (the
// control group, the campaign without variants, all variants pooled).
var reservedArms = []string{"holdout", "all", "treated"}

// campaignMessages parses `messages` and `variants` (whose messages are
// partial overrides) against the template data of this campaign (or of a
// journey's send step, whose templates may read .journey).
func (p *parser) campaignMessages(f fields, c *Campaign, journey bool) {
	keys := make([]string, 0, len(c.Offer))
	for k := range c.Offer {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	root := rootSchema(keys)
	if c.Survey != nil {
		root.fields["survey"] = surveySchema()
	}
	if journey {
		root.fields[journeyData] = schemaOf(journeyType, journeyData)
	}
	if c.Trigger.Kind == TriggerAPI {
		root.fields[sendData] = &schema{open: true, name: sendData}
	}
	c.messages = &messageSet{channels: map[Channel]*channelMessages{}, variants: map[string]map[Channel]*channelMessages{}}
	if n := f.get("messages"); n != nil {
		c.messages.channels = p.messages(n, "messages", root)
		p.requireMessages(n, c.messages.channels, c.Channels)
	}
	n := f.get("variants")
	for i, item := range p.list(n, "variants") {
		vf, ok := p.mapping(item, "variant", []string{"id", "weight", "messages"})
		if !ok {
			continue
		}
		v := Variant{Weight: 1}
		if idn := vf.get("id"); idn != nil {
			if s, ok := p.str(idn, "variants.id"); ok {
				switch {
				case !isSlug(s):
					p.errorf(idn, "variant id %q must be a slug (lower-case letters, digits, '-', '_')", s)
				case slices.ContainsFunc(c.Variants, func(o Variant) bool { return o.ID == s }):
					p.errorf(idn, "variant id %q is used twice", s)
				case slices.Contains(reservedArms, s):
					p.errorf(idn, "variant id %q is reserved for the campaign report; choose another name", s)
				}
				v.ID = s
			}
		} else {
			p.errorf(item, "variant %d needs an id", i+1)
		}
		if w := vf.get("weight"); w != nil {
			if x, ok := p.number(w, "variants.weight"); ok {
				if x <= 0 {
					p.errorf(w, "variant weight must be above 0, not %v", x)
				}
				v.Weight = x
			}
		}
		if m := vf.get("messages"); m != nil {
			set := p.messages(m, "variants."+v.ID+".messages", root)
			p.unusedVariantChannels(m, set, c.Channels)
			c.messages.variants[v.ID] = set
		}
		c.Variants = append(c.Variants, v)
	}
}

func (p *parser) unusedVariantChannels(n *yaml.Node, set map[Channel]*channelMessages, channels []Channel) {
	for ch := range set {
		if !slices.Contains(channels, ch) {
			p.warnf(n, "variant messages.%s is never sent: %s is not in channels", ch, ch)
		}
	}
}
