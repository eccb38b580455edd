package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/tidings-crm/tidings/channels"
)

// Statuses lists every delivery status, in the order a ledger is shown.
var Statuses = []Status{StatusSent, StatusFailed, StatusPending, StatusDeferred, StatusSending, StatusUnknown,
	StatusHoldout, StatusSuppressed, StatusCapped, StatusCancelled, StatusExpired}

// LedgerQuery selects a campaign's ledger rows for ListDeliveries.
type LedgerQuery struct {
	CampaignID string
	// CustomerExternalID keeps one customer's rows; "" keeps every customer.
	CustomerExternalID string
	// Statuses keeps rows in these statuses; empty keeps every status.
	Statuses []Status
	// After continues a listing after this position (keyset pagination);
	// the zero value starts at the beginning.
	After LedgerPosition
	Limit int // at most this many rows; 0 or less means 100
}

// LedgerPosition is a place in a campaign's ledger, which is listed in the
// order of its unique key: customer id, then occurrence.
type LedgerPosition struct {
	CustomerID int64
	Occurrence string
}

// LedgerEntry is one ledger row as an operator sees it: the delivery and
// the customer's external id and stated time zone (never an address; the
// phone number is read only to infer the zone of a customer who states
// none, and is not shown).
type LedgerEntry struct {
	ID         int64         `db:"id"`
	CustomerID int64         `db:"customer_id"`
	ExternalID string        `db:"external_id"`
	TimeZone   string        `db:"time_zone"` // as stated by the customer; "" when none
	Phone      string        `db:"phone"`     // only to infer a zone (campaigns.CustomerLocation)
	Occurrence string        `db:"occurrence"`
	Channel    channels.Name `db:"channel"`
	Variant    string        `db:"variant"`
	Status     Status        `db:"status"`
	Reason     Reason        `db:"error"` // why it is deferred, suppressed, capped, failed...
	Attempts   int           `db:"attempts"`
	NotBefore  *time.Time    `db:"not_before"` // the planned send time of a deferred row
	CreatedAt  time.Time     `db:"created_at"`
	SentAt     *time.Time    `db:"sent_at"`
}

// Position is the entry's place in the listing, to continue after it.
func (e LedgerEntry) Position() LedgerPosition {
	return LedgerPosition{CustomerID: e.CustomerID, Occurrence: e.Occurrence}
}

// UnknownStatus returns the first of statuses that is not a delivery status,
// or "" when all are known.
func UnknownStatus(statuses []Status) Status {
	for _, s := range statuses {
		if !slices.Contains(Statuses, s) {
			return s
		}
	}
	return ""
}

// JoinStatuses lists statuses comma separated, for the error that names
// the known ones.
func JoinStatuses(statuses []Status) string {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// ledgerWhere is the WHERE clause of a ledger query, made of fixed fragments;
// every value is a bound argument.
func ledgerWhere(q LedgerQuery) (string, []any, error) {
	where := []string{"d.campaign_id = ?"}
	args := []any{q.CampaignID}
	if q.CustomerExternalID != "" {
		where = append(where, "d.customer_id = (SELECT id FROM customers WHERE external_id = ?)")
		args = append(args, q.CustomerExternalID)
	}
	if len(q.Statuses) > 0 {
		if s := UnknownStatus(q.Statuses); s != "" {
			return "", nil, fmt.Errorf("unknown status %q; statuses are %s", s, JoinStatuses(Statuses))
		}
		in, inArgs, err := sqlx.In("d.status IN (?)", q.Statuses)
		if err != nil {
			return "", nil, err
		}
		where, args = append(where, in), append(args, inArgs...)
	}
	if q.After != (LedgerPosition{}) {
		// A row-value comparison: both databases seek the unique index to it.
		where = append(where, "(d.customer_id, d.occurrence) > (?, ?)")
		args = append(args, q.After.CustomerID, q.After.Occurrence)
	}
	return strings.Join(where, " AND "), args, nil
}

// ListDeliveries returns a page of a campaign's ledger, in the order of
// customer id then occurrence (the ledger's unique index, so a page costs
// the same wherever it starts), with the customer's external id and zone.
func (s *Store) ListDeliveries(ctx context.Context, q LedgerQuery) ([]LedgerEntry, error) {
	where, args, err := ledgerWhere(q)
	if err != nil {
		return nil, fmt.Errorf("store: list deliveries of %s: %w", q.CampaignID, err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	// The page is cut before the join: joined first, PostgreSQL may walk
	// the customers from the first id to reach a page deep in the ledger.
	out := []LedgerEntry{}
	err = s.DB.SelectContext(ctx, &out, s.DB.Rebind(`SELECT d.id, d.customer_id, c.external_id, c.time_zone, c.phone,
		d.occurrence, d.channel, d.variant, d.status, d.error, d.attempts, d.not_before, d.created_at, d.sent_at
		FROM (SELECT d.id, d.customer_id, d.occurrence, d.channel, d.variant, d.status, d.error, d.attempts,
				d.not_before, d.created_at, d.sent_at
			FROM deliveries d WHERE `+where+` ORDER BY d.customer_id, d.occurrence LIMIT ?) AS d
		JOIN customers c ON c.id = d.customer_id ORDER BY d.customer_id, d.occurrence`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list deliveries of %s: %w", q.CampaignID, err)
	}
	return out, nil
}

// CountDeliveries counts the rows ListDeliveries would list for q from
// q.After on, over every page, but stops at most: a campaign of millions
// costs a count of most index entries, not of millions.
func (s *Store) CountDeliveries(ctx context.Context, q LedgerQuery, most int) (int, error) {
	where, args, err := ledgerWhere(q)
	if err != nil {
		return 0, fmt.Errorf("store: count deliveries of %s: %w", q.CampaignID, err)
	}
	var n int
	err = s.DB.GetContext(ctx, &n, s.DB.Rebind(`SELECT count(*) FROM (SELECT 1 AS one FROM deliveries d WHERE `+where+` LIMIT ?) AS page`),
		append(args, most)...)
	if err != nil {
		return 0, fmt.Errorf("store: count deliveries of %s: %w", q.CampaignID, err)
	}
	return n, nil
}

// HourCount is how many ledger rows fall in one hour.
type HourCount struct {
	Hour time.Time // the hour's start, UTC
	N    int
}

// DeferredByHour counts a campaign's deferred rows by the UTC hour of their
// planned send time (not_before), earliest first: when the waiting messages
// will go out.
func (s *Store) DeferredByHour(ctx context.Context, campaignID string) ([]HourCount, error) {
	rows, err := s.DB.QueryxContext(ctx, s.DB.Rebind(`SELECT `+s.epochMillis("not_before")+` / 3600000 AS hour, count(*)
		FROM deliveries WHERE campaign_id = ? AND status = 'deferred' AND not_before IS NOT NULL
		GROUP BY 1 ORDER BY 1`), campaignID)
	if err != nil {
		return nil, fmt.Errorf("store: deferred deliveries of %s by hour: %w", campaignID, err)
	}
	defer rows.Close()
	out := []HourCount{}
	for rows.Next() {
		var hour int64
		var n int
		if err := rows.Scan(&hour, &n); err != nil {
			return nil, fmt.Errorf("store: deferred deliveries of %s by hour: %w", campaignID, err)
		}
		out = append(out, HourCount{Hour: time.UnixMilli(hour * 3600000).UTC(), N: n})
	}
	return out, rows.Err()
}
