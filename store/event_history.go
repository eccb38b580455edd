package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Rules read a customer's event history (count_events, last_event,
// days_since_event). An audience never asks per customer: it reads the
// history of a whole range of customer ids in one query, EventHistoryRange,
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

// EventHistoryRow is one customer's event history.
type EventHistoryRow struct {
	CustomerID int64
	History
}

// EventHistoryRange reads the history of the customers whose ids are in
// (afterID, upToID] (upToID 0: no bound), in id order; customers without
// events are left out. A range of the index's first column (customer_id):
// one contiguous index scan per partition, where a list of ids would be
// thousands of probes (or, on a small table, a plan that scans it whole).
// An audience stream reads its customers' this way, a range of ids at a
// time, and walks the result beside the stream.
func (s *Store) EventHistoryRange(ctx context.Context, afterID, upToID int64, uses []HistoryUse,
	now time.Time) ([]EventHistoryRow, error) {
	if upToID <= 0 {
		upToID = 1<<63 - 1
	}
	return s.eventHistory(ctx, `customer_id > ? AND customer_id <= ?`, []any{afterID, upToID}, uses, now)
}

// EventHistoryOf reads the history of the customers ids (a reaction's one
// customer, a preview's).
func (s *Store) EventHistoryOf(ctx context.Context, ids []int64, uses []HistoryUse, now time.Time) (map[int64]History, error) {
	out := make(map[int64]History, len(ids))
	for _, ch := range chunks(len(ids), maxInList) {
		part := ids[ch[0]:ch[1]]
		rows, err := s.eventHistory(ctx, `customer_id IN `+placeholders(len(part)), anySlice(part), uses, now)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.CustomerID] = r.History
		}
	}
	return out, nil
}

// eventHistory runs the history query for the customers the condition
// who (made by the callers above, never from input) selects, with its
// arguments.
func (s *Store) eventHistory(ctx context.Context, who string, whoArgs []any, uses []HistoryUse,
	now time.Time) ([]EventHistoryRow, error) {
	if len(uses) == 0 {
		return nil, nil
	}
	now = now.UTC()
	// On SQLite, occurred_at (TIMESTAMP: numeric affinity) holds text, and
	// comparing it with a parameter would try to read both as numbers,
	// row after row, before comparing them as the text they are; unary +
	// takes the affinity away, and with it that work (a quarter of the
	// query's). The comparison is the same: text with text.
	at := "occurred_at"
	if s.Dialect == SQLite {
		at = "+occurred_at"
	}
	aggs := make([]string, len(uses))
	var args []any
	var types []any
	seen := map[string]bool{}
	for i, u := range uses {
		if u.Span > 0 {
			aggs[i] = `count(CASE WHEN type = ? AND ` + at + ` > ? THEN 1 END)`
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
		WHERE ` + who + ` AND type IN ` + placeholders(len(types)) + ` AND ` + at + ` <= ?
		GROUP BY customer_id ORDER BY customer_id`)
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: event history: %w", err)
	}
	defer rows.Close()
	// Each row is scanned into the same values, then copied into slabs of
	// a few hundred rows' answers: no allocation per row.
	n := len(uses)
	var id int64
	row := History{Counts: make([]int, n), Last: make([]time.Time, n)}
	dest := make([]any, n+1)
	dest[0] = &id
	for i, u := range uses {
		if u.Span > 0 {
			dest[i+1] = &row.Counts[i]
		} else {
			dest[i+1] = timeInto{&row.Last[i]}
		}
	}
	var out []EventHistoryRow
	var counts []int
	var lasts []time.Time
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: event history: %w", err)
		}
		if len(counts)+n > cap(counts) {
			counts, lasts = make([]int, 0, 256*n), make([]time.Time, 0, 256*n)
		}
		h := History{Counts: counts[len(counts) : len(counts)+n], Last: lasts[len(lasts) : len(lasts)+n]}
		counts, lasts = counts[:len(counts)+n], lasts[:len(lasts)+n]
		copy(h.Counts, row.Counts)
		copy(h.Last, row.Last)
		out = append(out, EventHistoryRow{CustomerID: id, History: h})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: event history: %w", err)
	}
	return out, nil
}
