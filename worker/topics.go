package worker

import (
	"context"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/rules"
	"github.com/tidings-crm/tidings/store"
)

// optedOut returns which of the batch's customers left the campaign's
// topic, in one query (nil when the campaign has no topic).
func (e *Engine) optedOut(ctx context.Context, c *campaigns.Campaign, batch []candidate) (map[int64]bool, error) {
	if c.Topic == "" || !c.Recipient.IsCustomer() {
		return nil, nil
	}
	ids := make([]int64, len(batch))
	for i, cd := range batch {
		ids[i] = cd.id
	}
	m, err := e.st.TopicOptOutsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := map[int64]bool{}
	for id, topics := range m {
		for _, t := range topics {
			if t == c.Topic {
				out[id] = true
			}
		}
	}
	return out, nil
}

// pageOptOuts reads, before each page of an audience stream, the topic
// opt-outs of the page's customers in one query, for rules calling
// subscribed().
type pageOptOuts struct {
	st   *store.Store
	page map[int64][]string
}

// before is StreamOptions.BeforePage.
func (p *pageOptOuts) before(ctx context.Context) func(after, upTo int64, limit int) (int64, error) {
	return func(after, upTo int64, limit int) (int64, error) {
		m, err := p.st.TopicOptOutsPage(ctx, after, upTo, limit)
		p.page = m
		return 0, err
	}
}

// give sets env's opt-outs to the customer's, from the page read.
func (p *pageOptOuts) give(env *rules.Env, customerID int64) {
	rules.SetOptOuts(env, p.page[customerID])
}

// GiveOptOuts reads one customer's topic opt-outs and gives them to env,
// for a rule evaluated outside an audience stream (an event's reaction, a
// journey's branch, a preview). With read false (no rule calls
// subscribed) it reads nothing and gives nothing.
func GiveOptOuts(ctx context.Context, st *store.Store, env *rules.Env, customerID int64, read bool) error {
	if !read {
		return nil
	}
	left, err := st.TopicOptOuts(ctx, customerID)
	if err != nil {
		return err
	}
	rules.SetOptOuts(env, left)
	return nil
}

// beforeBoth runs two BeforePage functions in turn (either may be nil):
// b reads up to a's bound, and the page stops at the lower of the two.
func beforeBoth(a, b func(after, upTo int64, limit int) (int64, error)) func(after, upTo int64, limit int) (int64, error) {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(after, upTo int64, limit int) (int64, error) {
		bound, err := a(after, upTo, limit)
		if err != nil {
			return 0, err
		}
		if bound > 0 && bound < upTo {
			upTo = bound
		}
		bb, err := b(after, upTo, limit)
		if bb > 0 && (bound == 0 || bb < bound) {
			bound = bb
		}
		return bound, err
	}
}
