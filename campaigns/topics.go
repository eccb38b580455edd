package campaigns

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Topic is a subject a customer may leave on their preference page
// (newsletter, offers) while keeping the others: a campaign declaring a
// topic skips the customers who left it, and rules read
// subscribed("topic"). The deployment lists its topics (TIDINGS_TOPICS);
// a campaign or a rule naming another is a load error.
type Topic struct {
	ID    string // a slug, as campaigns and rules name it
	Label string // what the preference page shows; the ID when none is given
}

// ParseTopics reads a topic list: comma-separated entries, each a slug
// with an optional label after "=", e.g.
// "newsletter=Weekly newsletter, offers=Offers and discounts".
func ParseTopics(s string) ([]Topic, error) {
	var out []Topic
	seen := map[string]bool{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, label, _ := strings.Cut(entry, "=")
		id, label = strings.TrimSpace(id), strings.TrimSpace(label)
		if !isSlug(id) {
			return nil, fmt.Errorf("topic %q must be a slug: lower-case letters, digits, '-' or '_' (e.g. newsletter=Weekly newsletter)", id)
		}
		if seen[id] {
			return nil, fmt.Errorf("topic %q is listed twice", id)
		}
		seen[id] = true
		if label == "" {
			label = id
		}
		out = append(out, Topic{ID: id, Label: label})
	}
	return out, nil
}

// TopicIDs lists the topics' ids, in order.
func TopicIDs(topics []Topic) []string {
	out := make([]string, len(topics))
	for i, t := range topics {
		out[i] = t.ID
	}
	return out
}

// topic reads the campaign's topic: one of the deployment's topics.
func (p *parser) topic(n *yaml.Node, c *Campaign) {
	if n == nil {
		return
	}
	s, ok := p.str(n, "topic")
	if !ok {
		return
	}
	known := TopicIDs(p.settings.Topics)
	for _, id := range known {
		if id == s {
			c.Topic = s
			return
		}
	}
	if len(known) == 0 {
		p.errorf(n, "topic %q is not a configured topic: none are configured; list the topics in TIDINGS_TOPICS (e.g. newsletter=Weekly newsletter) or remove topic", s)
		return
	}
	p.errorf(n, "topic %q is not a configured topic (TIDINGS_TOPICS lists %s)%s", s, strings.Join(known, ", "), didYouMean(s, known))
}

// ReadsTopics reports whether any rule of the campaign (audience,
// trigger, exits, journey branches) calls subscribed(): the engine then
// reads the customers' topic opt-outs beside them.
func (c *Campaign) ReadsTopics() bool { return c.readsTopics }
