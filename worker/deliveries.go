package worker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
)

// PlannedDelivery is one ledger row as the admin API and `tidings
// deliveries` show it: who (ids only, never an address), what became of it
// and why, and when it is or was planned, in the customer's zone and UTC.
type PlannedDelivery struct {
	ID         int64             `json:"id"`
	CustomerID int64             `json:"customer_id"`
	ExternalID string            `json:"external_id"`
	Status     store.Status      `json:"status"`
	Reason     store.Reason      `json:"reason,omitempty"` // why deferred, suppressed, capped, failed...
	Occurrence string            `json:"occurrence"`
	Channel    campaigns.Channel `json:"channel"`
	Variant    string            `json:"variant,omitempty"`
	Attempts   int               `json:"attempts"`
	// TimeZone is the zone the send is planned in: the customer's own, one
	// inferred from their phone number when ZoneInferred, or the configured
	// default when ZoneDefault (neither gives one).
	TimeZone     string `json:"time_zone"`
	ZoneInferred bool   `json:"zone_inferred,omitempty"`
	ZoneDefault  bool   `json:"zone_default,omitempty"`
	// PlannedAt is when the message is (or was) due: its not-before time
	// (local send time, quiet hours, a blackout date), else when the row was
	// written. Nil for rows never meant to be sent (holdout, suppressed,
	// capped, cancelled).
	PlannedAt    *time.Time `json:"planned_at,omitempty"`
	PlannedLocal string     `json:"planned_local,omitempty"` // PlannedAt in TimeZone, RFC 3339
	SentAt       *time.Time `json:"sent_at,omitempty"`
}

// DeliveryPage is a page of a campaign's ledger.
type DeliveryPage struct {
	Campaign   string            `json:"campaign"`
	Deliveries []PlannedDelivery `json:"deliveries"`
	// NextCursor continues the listing (?cursor=); empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Deliveries lists a page of a loaded campaign's ledger (q.CampaignID is
// set from campaignID; a zero q.Limit is 100).
func (e *Engine) Deliveries(ctx context.Context, campaignID string, q store.LedgerQuery) (DeliveryPage, error) {
	if _, ok := e.Campaign(campaignID); !ok {
		return DeliveryPage{}, fmt.Errorf("deliveries: no campaign %q is loaded: %w", campaignID, store.ErrNotFound)
	}
	q.CampaignID = campaignID
	if q.Limit <= 0 {
		q.Limit = DefaultDeliveriesLimit
	}
	rows, err := e.st.ListDeliveries(ctx, q)
	if err != nil {
		return DeliveryPage{}, err
	}
	page := DeliveryPage{Campaign: campaignID, Deliveries: make([]PlannedDelivery, len(rows))}
	for i, r := range rows {
		page.Deliveries[i] = e.planned(r)
	}
	if len(rows) > 0 && len(rows) == q.Limit {
		page.NextCursor = EncodeCursor(rows[len(rows)-1].Position())
	}
	return page, nil
}

// unsent are the statuses of rows never meant to be sent.
var unsent = map[store.Status]bool{store.StatusHoldout: true, store.StatusSuppressed: true, store.StatusCapped: true,
	store.StatusCancelled: true}

func (e *Engine) planned(r store.LedgerEntry) PlannedDelivery {
	loc, src := campaigns.CustomerLocation(r.TimeZone, r.Phone, e.opts.DefaultLoc)
	p := PlannedDelivery{ID: r.ID, CustomerID: r.CustomerID, ExternalID: r.ExternalID, Status: r.Status,
		Reason: r.Reason, Occurrence: r.Occurrence, Channel: r.Channel, Variant: r.Variant, Attempts: r.Attempts,
		TimeZone: loc.String(), ZoneInferred: src == campaigns.ZoneInferred, ZoneDefault: src == campaigns.ZoneDefault,
		SentAt: utcPtr(r.SentAt)}
	switch {
	case r.NotBefore != nil:
		p.PlannedAt = utcPtr(r.NotBefore)
	case !unsent[r.Status]:
		p.PlannedAt = utcPtr(&r.CreatedAt)
	}
	if p.PlannedAt != nil {
		p.PlannedLocal = p.PlannedAt.In(loc).Format(time.RFC3339)
	}
	return p
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// EncodeCursor makes the opaque cursor of a ledger position.
func EncodeCursor(p store.LedgerPosition) string {
	b, _ := json.Marshal([]any{p.CustomerID, p.Occurrence})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor EncodeCursor made; "" is the beginning.
func DecodeCursor(s string) (store.LedgerPosition, error) {
	var p store.LedgerPosition
	if s == "" {
		return p, nil
	}
	bad := errors.New("cursor is not one this API gave; pass next_cursor from the previous page as it is")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return p, bad
	}
	var v []json.RawMessage
	if json.Unmarshal(b, &v) != nil || len(v) != 2 ||
		json.Unmarshal(v[0], &p.CustomerID) != nil || json.Unmarshal(v[1], &p.Occurrence) != nil {
		return p, bad
	}
	return p, nil
}

// Listing sizes of the admin API.
const (
	DefaultDeliveriesLimit = 100
	MaxDeliveriesLimit     = 1000
)

// ParseStatuses reads a comma-separated status list ("pending,deferred"),
// refusing unknown statuses with the list of known ones.
func ParseStatuses(s string) ([]store.Status, error) {
	var out []store.Status
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, store.Status(part))
		}
	}
	if bad := store.UnknownStatus(out); bad != "" {
		return nil, fmt.Errorf("unknown status %q; statuses are %s", bad, store.JoinStatuses(store.Statuses))
	}
	return out, nil
}

// DeferredWindow is the deferred messages of a campaign planned within one
// UTC hour.
type DeferredWindow struct {
	Start time.Time `json:"start"` // UTC, on the hour
	End   time.Time `json:"end"`
	N     int       `json:"n"`
}

// DeferredSummary is how many of a campaign's messages wait for a later
// time (local send time, quiet hours) and when they will go out.
type DeferredSummary struct {
	Total int `json:"total"`
	// Overdue counts rows whose planned hour has passed: a worker or the
	// reconciler picks them up next.
	Overdue int              `json:"overdue"`
	Windows []DeferredWindow `json:"windows"` // the current hour and later, earliest first
}

// Deferred summarises a loaded campaign's deferred messages by the UTC hour
// they are planned in.
func (e *Engine) Deferred(ctx context.Context, campaignID string) (DeferredSummary, error) {
	if _, ok := e.Campaign(campaignID); !ok {
		return DeferredSummary{}, fmt.Errorf("deferred: no campaign %q is loaded: %w", campaignID, store.ErrNotFound)
	}
	hours, err := e.st.DeferredByHour(ctx, campaignID)
	if err != nil {
		return DeferredSummary{}, err
	}
	now := e.now()
	s := DeferredSummary{Windows: []DeferredWindow{}}
	for _, h := range hours {
		s.Total += h.N
		end := h.Hour.Add(time.Hour)
		if !end.After(now) {
			s.Overdue += h.N
			continue
		}
		s.Windows = append(s.Windows, DeferredWindow{Start: h.Hour, End: end, N: h.N})
	}
	return s, nil
}
