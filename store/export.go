package store

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/tidings-crm/tidings/channels"
)

// Export is everything held about one person, as one JSON document (the
// right of access and portability): the profile with its scores, the
// consent history, purchases, the messages planned or sent, and the
// suppressions of their addresses (as keyed hashes: the table stores no
// address). An erased customer exports the tombstone and ErasedAt.
type Export struct {
	ExportedAt     time.Time        `json:"exported_at"`
	Profile        map[string]any   `json:"profile"`
	ErasedAt       *time.Time       `json:"erased_at,omitempty"`
	ConsentHistory []ConsentChange  `json:"consent_history"`
	TopicOptOuts   []string         `json:"topic_opt_outs"`
	Purchases      []ExportPurchase `json:"purchases"`
	Deliveries     []ExportDelivery `json:"deliveries"`
	Suppressions   []Suppression    `json:"suppressions"`
}

// ExportPurchase is one purchase in an Export.
type ExportPurchase struct {
	OrderID     string          `json:"order_id" db:"order_id"`
	AmountCents int64           `json:"amount_cents" db:"amount_cents"`
	Currency    string          `json:"currency" db:"currency"`
	Quantity    int             `json:"quantity" db:"quantity"`
	Items       json.RawMessage `json:"items" db:"items"`
	OccurredAt  time.Time       `json:"occurred_at" db:"occurred_at"`
}

// ExportDelivery is one ledger row in an Export.
type ExportDelivery struct {
	Campaign   string        `json:"campaign"`
	Occurrence string        `json:"occurrence"`
	Channel    channels.Name `json:"channel"`
	Variant    string        `json:"variant,omitempty"`
	Status     Status        `json:"status"`
	Reason     Reason        `json:"reason,omitempty"`
	PlannedAt  time.Time     `json:"planned_at"`
	SentAt     *time.Time    `json:"sent_at,omitempty"`
}

// ExportCustomer gathers the Export of customer id; ErrNotFound when there
// is none.
func (s *Store) ExportCustomer(ctx context.Context, id int64) (*Export, error) {
	c, err := s.CustomerByID(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &Export{ExportedAt: time.Now().UTC(), Profile: profileOf(c)}
	var at time.Time
	err = s.DB.QueryRowContext(ctx, s.DB.Rebind(`SELECT erased_at FROM erasures WHERE customer_id = ?`), id).Scan(timeInto{&at})
	if err == nil {
		out.ErasedAt = &at
	}
	if out.ConsentHistory, err = s.ConsentHistory(ctx, id); err != nil {
		return nil, err
	}
	if out.TopicOptOuts, err = s.TopicOptOuts(ctx, id); err != nil {
		return nil, err
	}
	if out.TopicOptOuts == nil {
		out.TopicOptOuts = []string{}
	}
	if out.Purchases, err = s.exportPurchases(ctx, id); err != nil {
		return nil, err
	}
	if out.Deliveries, err = s.exportDeliveries(ctx, id); err != nil {
		return nil, err
	}
	if out.Suppressions, err = s.exportSuppressions(ctx, c); err != nil {
		return nil, err
	}
	return out, nil
}

// profileOf is the customer row as a map keyed by column name: every
// column, whatever fields are added later.
func profileOf(c *Customer) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		if tag := v.Type().Field(i).Tag.Get("db"); tag != "" {
			out[tag] = v.Field(i).Interface()
		}
	}
	return out
}

func (s *Store) exportPurchases(ctx context.Context, id int64) ([]ExportPurchase, error) {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT order_id, amount_cents, currency, quantity, items, occurred_at
		FROM purchases WHERE customer_id = ? ORDER BY occurred_at, id`), id)
	if err != nil {
		return nil, fmt.Errorf("store: export purchases: %w", err)
	}
	defer rows.Close()
	out := []ExportPurchase{}
	for rows.Next() {
		var p ExportPurchase
		var items []byte
		if err := rows.Scan(&p.OrderID, &p.AmountCents, &p.Currency, &p.Quantity, &items, timeInto{&p.OccurredAt}); err != nil {
			return nil, fmt.Errorf("store: export purchases: %w", err)
		}
		p.Items = json.RawMessage(items)
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Store) exportDeliveries(ctx context.Context, id int64) ([]ExportDelivery, error) {
	var rows []Delivery
	if err := s.DB.SelectContext(ctx, &rows, s.DB.Rebind(`SELECT `+deliveryColumns+` FROM deliveries
		WHERE customer_id = ? ORDER BY created_at, id`), id); err != nil {
		return nil, fmt.Errorf("store: export deliveries: %w", err)
	}
	out := make([]ExportDelivery, 0, len(rows))
	for _, d := range rows {
		e := ExportDelivery{Campaign: d.CampaignID, Occurrence: d.Occurrence, Channel: d.Channel, Variant: d.Variant,
			Status: d.Status, Reason: d.Error, PlannedAt: d.CreatedAt, SentAt: d.SentAt}
		if d.NotBefore != nil {
			e.PlannedAt = *d.NotBefore
		}
		out = append(out, e)
	}
	return out, nil
}

// exportSuppressions lists the suppressions recorded for the customer and
// those of their current addresses.
func (s *Store) exportSuppressions(ctx context.Context, c *Customer) ([]Suppression, error) {
	hashes := []any{"", ""}
	for i, a := range []struct {
		ch   channels.Name
		addr string
	}{{channels.Email, c.Email}, {channels.SMS, c.Phone}} {
		if h, err := s.AddressHash(ctx, a.ch, a.addr); err == nil {
			hashes[i] = h
		}
	}
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT channel, address, reason, customer_id, created_at
		FROM suppressions WHERE customer_id = ? OR (channel = 'email' AND address = ?) OR (channel = 'sms' AND address = ?)
		ORDER BY created_at, id`), c.ID, hashes[0], hashes[1])
	if err != nil {
		return nil, fmt.Errorf("store: export suppressions: %w", err)
	}
	defer rows.Close()
	out := []Suppression{}
	for rows.Next() {
		var sup Suppression
		var cust *int64
		if err := rows.Scan(&sup.Channel, &sup.AddressHash, &sup.Reason, &cust, timeInto{&sup.CreatedAt}); err != nil {
			return nil, fmt.Errorf("store: export suppressions: %w", err)
		}
		if cust != nil {
			sup.CustomerID = *cust
		}
		out = append(out, sup)
	}
	return out, rows.Err()
}
