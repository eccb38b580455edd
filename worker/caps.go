package worker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// suppressions holds which addresses of a batch are suppressed, per channel.
type suppressions map[string]map[string]bool

func (s suppressions) has(channel, addr string) bool { return s[channel][normalizeAddr(channel, addr)] }

func normalizeAddr(channel, addr string) string {
	if channel == string(campaigns.Email) {
		return strings.ToLower(strings.TrimSpace(addr))
	}
	return strings.TrimSpace(addr)
}

// suppressed loads the batch's suppressed emails and phones in two queries.
func (e *Engine) suppressed(ctx context.Context, batch []candidate) (suppressions, error) {
	var emails, phones []string
	for _, cd := range batch {
		if cd.email != "" {
			emails = append(emails, normalizeAddr("email", cd.email))
		}
		if cd.phone != "" {
			phones = append(phones, cd.phone)
		}
	}
	out := suppressions{}
	for ch, addrs := range map[string][]string{"email": emails, "sms": phones} {
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
	taken         map[int64]map[string]int // slots this batch already used
}

func (e *Engine) recent(ctx context.Context, c *campaigns.Campaign, batch []candidate, now time.Time) (*recentSet, error) {
	window := c.Occurrence.Lookback()
	for _, cp := range e.opts.Caps {
		window = max(window, cp.Window)
	}
	ids := make([]int64, len(batch))
	for i, cd := range batch {
		ids[i] = cd.id
	}
	rows, err := e.st.RecentDeliveries(ctx, ids, now.Add(-window))
	if err != nil {
		return nil, err
	}
	r := &recentSet{byCustomer: map[int64][]store.RecentDelivery{}, displaced: map[int64]bool{},
		taken: map[int64]map[string]int{}}
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

// applyCap enforces the channel's frequency cap for promotional messages. At
// the cap, a waiting message of a lower-priority campaign is displaced (it is
// cancelled as capped); otherwise this row is capped.
func (e *Engine) applyCap(_ context.Context, c *campaigns.Campaign, cd candidate, r *recentSet, row *store.NewDelivery, now time.Time) {
	cp, ok := e.opts.Caps[channels.Name(row.Channel)] // the ledger keeps the name as text
	if !row.CappedClass || !ok || cp.Max <= 0 {
		return
	}
	since := now.Add(-cp.Window)
	used := r.taken[cd.id][row.Channel]
	var victim *store.RecentDelivery
	for i, d := range r.byCustomer[cd.id] {
		if !d.CappedClass || d.Channel != row.Channel || d.CreatedAt.Before(since) || r.displaced[d.ID] {
			continue
		}
		if d.CampaignID == c.ID && d.Occurrence == row.Occurrence {
			return // this very row exists already; the insert will skip it
		}
		used++
		waiting := d.Status == store.StatusPending || d.Status == store.StatusDeferred
		if waiting && d.CampaignID != c.ID && d.Priority < row.Priority && (victim == nil || d.Priority < victim.Priority) {
			victim = &r.byCustomer[cd.id][i]
		}
	}
	if used >= cp.Max {
		if victim == nil {
			row.Status = store.StatusCapped
			row.Error = fmt.Sprintf("frequency cap: %d %s per %s across campaigns", cp.Max, row.Channel, cp.Window)
			return
		}
		r.displaced[victim.ID] = true
	}
	if r.taken[cd.id] == nil {
		r.taken[cd.id] = map[string]int{}
	}
	r.taken[cd.id][row.Channel]++
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
	_, err := e.st.CancelDeliveries(ctx, ids, store.StatusCapped, "displaced by higher-priority campaign "+c.ID, now)
	return err
}
