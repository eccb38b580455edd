package worker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// suppressions holds which addresses of a batch are suppressed, per channel.
type suppressions map[campaigns.Channel]map[string]bool

func (s suppressions) has(channel campaigns.Channel, addr string) bool {
	return s[channel][normalizeAddr(channel, addr)]
}

func normalizeAddr(channel campaigns.Channel, addr string) string {
	if channel == campaigns.Email {
		return strings.ToLower(strings.TrimSpace(addr))
	}
	return strings.TrimSpace(addr)
}

// suppressed loads the batch's suppressed emails and phones in two queries.
func (e *Engine) suppressed(ctx context.Context, batch []candidate) (suppressions, error) {
	var emails, phones []string
	for _, cd := range batch {
		if cd.email != "" {
			emails = append(emails, normalizeAddr(campaigns.Email, cd.email))
		}
		if cd.phone != "" {
			phones = append(phones, cd.phone)
		}
	}
	out := suppressions{}
	for ch, addrs := range map[campaigns.Channel][]string{campaigns.Email: emails, campaigns.SMS: phones} {
		set, err := e.st.SuppressedSet(ctx, ch, addrs)
		if err != nil {
			return nil, err
		}
		out[ch] = set
	}
	return out, nil
}

// recentSet is what the batch's customers received lately, across campaigns,
// for frequency caps and "once per N days" look-backs.
type recentSet struct {
	byCustomer    map[int64][]store.RecentDelivery
	lookbackSince time.Time // zero: the campaign has no look-back
	displaced     map[int64]bool
	taken         map[int64]map[campaigns.Channel]int // slots this batch already used, per channel
}

func (e *Engine) recent(ctx context.Context, c *campaigns.Campaign, batch []candidate, now time.Time, pol *campaigns.Policy) (*recentSet, error) {
	window := max(c.Occurrence.Lookback(), pol.MaxPer())
	ids := make([]int64, len(batch))
	for i, cd := range batch {
		ids[i] = cd.id
	}
	rows, err := e.st.RecentDeliveries(ctx, ids, now.Add(-window))
	if err != nil {
		return nil, err
	}
	r := &recentSet{byCustomer: map[int64][]store.RecentDelivery{}, displaced: map[int64]bool{},
		taken: map[int64]map[campaigns.Channel]int{}}
	if lb := c.Occurrence.Lookback(); lb > 0 {
		r.lookbackSince = now.Add(-lb)
	}
	for _, d := range rows {
		r.byCustomer[d.CustomerID] = append(r.byCustomer[d.CustomerID], d)
	}
	return r, nil
}

// sentWithin reports a live delivery of the campaign inside its look-back.
func (r *recentSet) sentWithin(customerID int64, campaignID string) bool {
	if r.lookbackSince.IsZero() {
		return false
	}
	for _, d := range r.byCustomer[customerID] {
		if d.CampaignID == campaignID && !d.CreatedAt.Before(r.lookbackSince) {
			return true
		}
	}
	return false
}

// classOf is the frequency class a ledger row counts in: its campaign's
// class. A campaign no longer loaded counts as promotional when the ledger
// says it was (capped_class) and not at all otherwise; a team alert never
// counts (it went to the team, not the customer).
func (e *Engine) classOf(d store.RecentDelivery) (campaigns.Class, bool) {
	if c, ok := e.Campaign(d.CampaignID); ok {
		return c.Frequency.Class, c.Recipient.IsCustomer()
	}
	return campaigns.ClassPromotional, d.CappedClass
}

// applyCap enforces the policy's caps for the row's channel and class (the
// top level's and those of the customer's country and state). A row that
// would exceed one displaces a waiting message of a lower-priority campaign
// counted by every cap it exceeds (that message is cancelled as capped), or
// is capped itself. Team alerts are outside the policy.
func (e *Engine) applyCap(c *campaigns.Campaign, cd candidate, r *recentSet, row *store.NewDelivery, now time.Time,
	pol *campaigns.Policy, place campaigns.Place) {
	if !c.Recipient.IsCustomer() {
		return
	}
	class := c.Frequency.Class
	caps := pol.Caps(row.Channel, class, place)
	if len(caps) == 0 {
		return
	}
	var counted []store.RecentDelivery // this customer's rows in the channel and class, not displaced
	for _, d := range r.byCustomer[cd.id] {
		if d.Channel != row.Channel || r.displaced[d.ID] {
			continue
		}
		if cl, ok := e.classOf(d); !ok || cl != class {
			continue
		}
		if d.CampaignID == c.ID && d.Occurrence == row.Occurrence {
			return // this very row exists already; the insert will skip it
		}
		counted = append(counted, d)
	}
	var full []campaigns.Cap // caps this row would exceed
	for _, cp := range caps {
		used := r.taken[cd.id][row.Channel]
		for _, d := range counted {
			if !d.CreatedAt.Before(now.Add(-cp.Per)) {
				used++
			}
		}
		switch {
		case used > cp.Max: // already over (the cap was lowered): one displacement would not do
			capRow(row, cp, class)
			return
		case used == cp.Max:
			full = append(full, cp)
		}
	}
	if len(full) > 0 {
		victim := displaceable(c, row, counted, full, now)
		if victim == nil {
			capRow(row, full[0], class)
			return
		}
		r.displaced[victim.ID] = true
	}
	if r.taken[cd.id] == nil {
		r.taken[cd.id] = map[campaigns.Channel]int{}
	}
	r.taken[cd.id][row.Channel]++
}

// displaceable returns the lowest-priority waiting message of another
// campaign, of lower priority than row, that every full cap counts, or nil.
func displaceable(c *campaigns.Campaign, row *store.NewDelivery, counted []store.RecentDelivery, full []campaigns.Cap, now time.Time) *store.RecentDelivery {
	shortest := full[0].Per // a row in the shortest window is in every window
	for _, cp := range full[1:] {
		shortest = min(shortest, cp.Per)
	}
	since := now.Add(-shortest)
	var victim *store.RecentDelivery
	for i, d := range counted {
		waiting := d.Status == store.StatusPending || d.Status == store.StatusDeferred
		if waiting && d.CampaignID != c.ID && d.Priority < row.Priority && !d.CreatedAt.Before(since) &&
			(victim == nil || d.Priority < victim.Priority) {
			victim = &counted[i]
		}
	}
	return victim
}

// capRow marks row capped by cp.
func capRow(row *store.NewDelivery, cp campaigns.Cap, class campaigns.Class) {
	row.Status = store.StatusCapped
	row.Error = store.Reason(fmt.Sprintf("frequency cap: %d %s %s per %s across campaigns", cp.Max, row.Channel, class, campaigns.FormatDuration(cp.Per)))
	if cp.Scope != "" {
		row.Error += store.Reason(" (" + cp.Scope + " rule)")
	}
}

// cancelDisplaced cancels the lower-priority messages this batch displaced.
func (e *Engine) cancelDisplaced(ctx context.Context, c *campaigns.Campaign, r *recentSet, now time.Time) error {
	if len(r.displaced) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(r.displaced))
	for id := range r.displaced {
		ids = append(ids, id)
	}
	_, err := e.st.CancelDeliveries(ctx, ids, store.StatusCapped, store.Reason("displaced by higher-priority campaign "+c.ID), now)
	return err
}
