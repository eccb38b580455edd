package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Rules read a customer's event history (count_events, last_event,
// days_since_event). An audience never asks per customer: it reads the
// history of a whole page of customers in one query, EventHistoryPage,
// over the events log's (customer_id, type, occurred_at) index.

// HistoryUse is one piece of history to read: the number of events of
// Type in the Span up to now, or (Span 0) the latest one's time.
type HistoryUse struct {
	Type string
	Span time.Duration
}

// History is one customer's answers: Counts[i] and Last[i] answer use i.
type History struct {
	Counts []int
	Last   []time.Time
}

// EventHistoryPage reads the history of the customers a StreamCustomers
// page holds: ids in (afterID, upToID], the first limit of them (upToID 0:
// no bound). Customers without events are absent from the map.
func (s *Store) EventHistoryPage(ctx context.Context, afterID, upToID int64, limit int, uses []HistoryUse,
	now time.Time) (map[int64]History, error) {
	if upToID <= 0 {
		upToID = 1<<63 - 1
	}
	// A range of the index's first column (customer_id), bounded by the
	// page's last id: one contiguous index scan per partition, where a
	// list of the page's ids would be thousands of probes (or, on a small
	// table, a plan that scans it whole).
	return s.eventHistory(ctx, `customer_id > ? AND customer_id <= (SELECT max(id) FROM
		(SELECT id FROM customers WHERE id > ? AND id <= ? ORDER BY id LIMIT ?) page)`,
		[]any{afterID, afterID, upToID, limit}, uses, now)
}

// EventHistoryOf reads the history of the customers ids (a reaction's one
// customer, a preview's).
func (s *Store) EventHistoryOf(ctx context.Context, ids []int64, uses []HistoryUse, now time.Time) (map[int64]History, error) {
	if len(ids) == 0 {
		return map[int64]History{}, nil
	}
	out := make(map[int64]History, len(ids))
	for _, ch := range chunks(len(ids), maxInList) {
		part := ids[ch[0]:ch[1]]
		m, err := s.eventHistory(ctx, `customer_id IN `+placeholders(len(part)), anySlice(part), uses, now)
		if err != nil {
			return nil, err
		}
		for id, h := range m {
			out[id] = h
		}
	}
	return out, nil
}

// eventHistory runs the history query for the customers the condition
// who (made by the callers above, never from input) selects, with its
// arguments.
func (s *Store) eventHistory(ctx context.Context, who string, whoArgs []any, uses []HistoryUse,
	now time.Time) (map[int64]History, error) {
	if len(uses) == 0 {
		return map[int64]History{}, nil
	}
	now = now.UTC()
	aggs := make([]string, len(uses))
	var args []any
	var types []any
	seen := map[string]bool{}
	for i, u := range uses {
		if u.Span > 0 {
			aggs[i] = `count(CASE WHEN type = ? AND occurred_at > ? THEN 1 END)`
			args = append(args, u.Type, now.Add(-u.Span))
		} else {
			aggs[i] = `max(CASE WHEN type = ? THEN occurred_at END)`
			args = append(args, u.Type)
		}
		if !seen[u.Type] {
			seen[u.Type] = true
			types = append(types, u.Type)
		}
	}
	args = append(args, whoArgs...)
	args = append(args, types...)
	args = append(args, now)
	q := s.DB.Rebind(`SELECT customer_id, ` + strings.Join(aggs, ", ") + ` FROM events
		WHERE ` + who + ` AND type IN ` + placeholders(len(types)) + ` AND occurred_at <= ?
		GROUP BY customer_id`)
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: event history: %w", err)
	}
	defer rows.Close()
	out := map[int64]History{}
	dest := make([]any, len(uses)+1)
	for rows.Next() {
		var id int64
		h := History{Counts: make([]int, len(uses)), Last: make([]time.Time, len(uses))}
		dest[0] = &id
		for i, u := range uses {
			if u.Span > 0 {
				dest[i+1] = &h.Counts[i]
			} else {
				dest[i+1] = timeInto{&h.Last[i]}
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: event history: %w", err)
		}
		out[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: event history: %w", err)
	}
	return out, nil
}
