package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// A customer is subscribed to every topic (newsletter, offers, ...) until
// they leave it: topic_optouts holds the topics each customer left. A
// campaign declaring a topic skips its opted-out customers, and rules read
// subscribed("topic"); planning never asks per customer but reads a page or
// a batch of customers at once (TopicOptOutsPage, TopicOptOutsOf).

// ReasonTopicOptOut is the ledger reason of a message not sent because the
// customer left the campaign's topic (suppressed, then ": " and the topic).
const ReasonTopicOptOut Reason = "topic_opt_out"

// TopicOptOutReason is the ledger reason for a customer who left topic.
func TopicOptOutReason(topic string) Reason { return ReasonTopicOptOut + Reason(": "+topic) }

// TopicOptOuts returns the topics the customer left, sorted.
func (s *Store) TopicOptOuts(ctx context.Context, customerID int64) ([]string, error) {
	m, err := s.TopicOptOutsOf(ctx, []int64{customerID})
	if err != nil {
		return nil, err
	}
	return m[customerID], nil
}

// TopicOptOutsOf returns the topics each of the customers left (absent:
// none), each list sorted.
func (s *Store) TopicOptOutsOf(ctx context.Context, ids []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	for _, ch := range chunks(len(ids), maxInList) {
		part := ids[ch[0]:ch[1]]
		if err := s.topicOptOuts(ctx, out, `customer_id IN `+placeholders(len(part)), anySlice(part)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TopicOptOutsPage returns the topics left by the customers a
// StreamCustomers page holds: ids in (afterID, upToID], the first limit of
// them (upToID 0: no bound), as StreamOptions.BeforePage gives them.
func (s *Store) TopicOptOutsPage(ctx context.Context, afterID, upToID int64, limit int) (map[int64][]string, error) {
	if upToID <= 0 {
		upToID = 1<<63 - 1
	}
	out := map[int64][]string{}
	err := s.topicOptOuts(ctx, out, `customer_id > ? AND customer_id <= (SELECT max(id) FROM
		(SELECT id FROM customers WHERE id > ? AND id <= ? ORDER BY id LIMIT ?) page)`,
		[]any{afterID, afterID, upToID, limit})
	return out, err
}

// topicOptOuts adds to out the opt-outs of the customers who (made by the
// callers above, never from input) selects.
func (s *Store) topicOptOuts(ctx context.Context, out map[int64][]string, who string, args []any) error {
	rows, err := s.DB.QueryContext(ctx, s.DB.Rebind(`SELECT customer_id, topic FROM topic_optouts WHERE `+who+
		` ORDER BY customer_id, topic`), args...)
	if err != nil {
		return fmt.Errorf("store: topic opt-outs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var topic string
		if err := rows.Scan(&id, &topic); err != nil {
			return fmt.Errorf("store: topic opt-outs: %w", err)
		}
		out[id] = append(out[id], topic)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: topic opt-outs: %w", err)
	}
	return nil
}

// SetTopics makes left the exact set of the topics, among known, that the
// customer has left: topics of known not in left are joined again. Each
// change is recorded in the consent history with source. Topics outside
// known are left as they are (a topic removed from the configuration keeps
// its opt-outs). It returns ErrNotFound when the customer does not exist.
func (s *Store) SetTopics(ctx context.Context, customerID int64, known, left []string, source string) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockCustomer(ctx, tx, customerID); err != nil {
			return err
		}
		var before []string
		if err := tx.SelectContext(ctx, &before, tx.Rebind(`SELECT topic FROM topic_optouts WHERE customer_id = ?`),
			customerID); err != nil {
			return err
		}
		now := time.Now().UTC()
		for _, t := range known {
			was, is := slices.Contains(before, t), slices.Contains(left, t)
			if was == is {
				continue
			}
			q := `DELETE FROM topic_optouts WHERE customer_id = ? AND topic = ?`
			args := []any{customerID, t}
			if is {
				q = `INSERT INTO topic_optouts (customer_id, topic, created_at) VALUES (?, ?, ?)`
				args = append(args, now)
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO consent_changes (customer_id, topic, granted, source, changed_at)
				VALUES (?, ?, ?, ?, ?)`), customerID, t, !is, source, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set topics of customer %d: %w", customerID, err)
	}
	return nil
}

// SetTopic leaves (subscribed false) or joins one topic for the customer,
// recording a change in the consent history with source.
func (s *Store) SetTopic(ctx context.Context, customerID int64, topic string, subscribed bool, source string) error {
	left, err := s.TopicOptOuts(ctx, customerID)
	if err != nil {
		return err
	}
	left = slices.DeleteFunc(left, func(t string) bool { return t == topic })
	if !subscribed {
		left = append(left, topic)
	}
	return s.SetTopics(ctx, customerID, []string{topic}, left, source)
}

// lockCustomer checks that the customer exists and, on PostgreSQL, locks
// the row so two changes of the same customer's preferences take turns.
func (s *Store) lockCustomer(ctx context.Context, tx *sqlx.Tx, customerID int64) error {
	q := `SELECT id FROM customers WHERE id = ?`
	if s.Dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(q), customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
