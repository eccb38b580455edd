package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// A block is several ledger rows claimed by one statement and settled by
// one statement: a worker claims a block, sends its messages, and records
// the outcomes that are "sent" as a group with the claim of its next block.
// A message then costs a share of two statements instead of one or two of
// its own. The price is the crash bound: a worker that dies leaves its
// claimed and sent-but-unrecorded rows in "sending", which ExpireClaims
// settles as unknown (not resent unless the campaign opted in). The worker
// bounds the rows it holds at once (docs/campaigns.md, resend_unknown).

// BlockRow is a row to claim in a block and what its claim requires of it,
// as for ClaimForSend: Check.Address ("" for an internal alert) still
// consented to on the row's channel and not suppressed, and the customer
// not opted out of Check.Topic.
type BlockRow struct {
	ID    int64
	Check Check
}

// BlockResult is what SettleAndClaim did: the attempts of each row it
// claimed (counting this one), by id, and the outcomes it recorded, by id
// (an outcome missing there was not recorded: its claim had been taken
// over).
type BlockResult struct {
	Claimed  map[int64]int
	Recorded map[int64]bool
}

// SettleAndClaim records outcomes (each fenced by its claim token: only a
// row still "sending" under that token changes) and then claims, under
// token, the rows of claim that pass their checks, as ClaimForSend would
// one by one: waiting, due, not past their late deadline, and, for a
// message to the customer, consent on the row's channel still given, the
// address not suppressed and the topic not left, all in the statement that
// claims, so an unsubscribe committed before the claim always wins. A row
// that fails its check is left as it was.
//
// Each half is one statement whatever the number of rows (the rows travel
// as one JSON parameter, so SQLite's limit on variables does not apply); on
// PostgreSQL both halves are one statement, committed durably. Either half
// may be empty. With outgoing webhook subscribers of message.sent, the
// events of the sends it records are written in the same transaction.
func (s *Store) SettleAndClaim(ctx context.Context, settle []Outcome, token string, claim []BlockRow, now time.Time) (BlockResult, error) {
	if len(settle) == 0 && len(claim) == 0 {
		return BlockResult{Claimed: map[int64]int{}, Recorded: map[int64]bool{}}, nil
	}
	if len(settle) == 0 || !s.Hooked(HookMessageSent) {
		return s.settleAndClaim(ctx, s.DB, settle, token, claim, now)
	}
	// With subscribers, each recorded send's webhook event is written in
	// the transaction that records it: a fact that follows the send (the
	// customer unsubscribes once the ledger says sent) is never announced
	// before it.
	var res BlockResult
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if res, err = s.settleAndClaim(ctx, tx, settle, token, claim, now); err != nil {
			return err
		}
		for _, o := range settle {
			if res.Recorded[o.ID] {
				if err := s.emitMessageHookTx(ctx, tx, HookMessageSent, o.ID, "", nil, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return res, err
}

// settleAndClaim is SettleAndClaim through db (the store's pool or a
// transaction).
func (s *Store) settleAndClaim(ctx context.Context, db sqlx.ExtContext, settle []Outcome, token string, claim []BlockRow,
	now time.Time) (BlockResult, error) {
	res := BlockResult{Claimed: map[int64]int{}, Recorded: map[int64]bool{}}
	settleJSON := outcomesJSON(settle)
	claimJSON, err := s.blockRowsJSON(ctx, claim)
	if err != nil {
		return res, err
	}
	if s.Dialect == Postgres {
		// A data-modifying WITH runs to completion whether or not its
		// output is read: the settle happens even when nothing is claimed.
		q := `WITH settled AS (` + s.settleSQL() + `), claimed AS (` + s.claimBlockSQL() + `)
			SELECT true, id, 0 FROM settled UNION ALL SELECT false, id, attempts FROM claimed`
		args := append(s.blockSettleArgs(settleJSON, now), s.blockClaimArgs(token, claimJSON, now)...)
		rows, err := db.QueryContext(ctx, db.Rebind(q), args...)
		if err != nil {
			return res, fmt.Errorf("store: settle %d and claim %d deliveries: %w", len(settle), len(claim), err)
		}
		defer rows.Close()
		for rows.Next() {
			var settled bool
			var id int64
			var attempts int
			if err := rows.Scan(&settled, &id, &attempts); err != nil {
				return res, fmt.Errorf("store: settle and claim: %w", err)
			}
			if settled {
				res.Recorded[id] = true
			} else {
				res.Claimed[id] = attempts
			}
		}
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("store: settle %d and claim %d deliveries: %w", len(settle), len(claim), err)
		}
		return res, nil
	}
	if len(settle) > 0 {
		var ids []int64
		if err := sqlx.SelectContext(ctx, db, &ids, db.Rebind(s.settleSQL()), s.blockSettleArgs(settleJSON, now)...); err != nil {
			return res, fmt.Errorf("store: settle %d deliveries: %w", len(settle), err)
		}
		for _, id := range ids {
			res.Recorded[id] = true
		}
	}
	if len(claim) > 0 {
		var got []struct {
			ID       int64 `db:"id"`
			Attempts int   `db:"attempts"`
		}
		if err := sqlx.SelectContext(ctx, db, &got, db.Rebind(s.claimBlockSQL()), s.blockClaimArgs(token, claimJSON, now)...); err != nil {
			return res, fmt.Errorf("store: claim %d deliveries: %w", len(claim), err)
		}
		for _, g := range got {
			res.Claimed[g.ID] = g.Attempts
		}
	}
	return res, nil
}

// ReleaseBlock hands back rows claimed under token that were never sent
// (the worker is shutting down): they are pending again, and their claim's
// attempt is not counted. It returns how many were released.
func (s *Store) ReleaseBlock(ctx context.Context, ids []int64, token string, reason Reason, now time.Time) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	b, _ := json.Marshal(ids)
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE deliveries
		SET status = 'pending', claim_token = NULL, error = ?, updated_at = ?, attempts = attempts - 1
		WHERE claim_token = ? AND status = 'sending' AND `+s.jsonIDs()),
		truncate(reason, 500), now.UTC(), token, string(b))
	if err != nil {
		return 0, fmt.Errorf("store: release %d deliveries: %w", len(ids), err)
	}
	return res.RowsAffected()
}

// jsonIDs is the condition "id is in the JSON array parameter", in a form
// PostgreSQL looks up by the primary key.
func (s *Store) jsonIDs() string {
	if s.Dialect == Postgres {
		return `id = ANY(ARRAY(SELECT value::bigint FROM json_array_elements_text(?::json)))`
	}
	return `id IN (SELECT value FROM json_each(?))`
}

// claimBlockSQL claims the rows of a JSON array of {id, addr, consent,
// topic} (blockRowsJSON). addr is the keyed hash of the address ("": no suppression check),
// consent whether the customer's consent on the row's channel is required,
// topic the topic the customer must not have left ("": none).
// blockClaimArgs are its arguments.
func (s *Store) claimBlockSQL() string {
	rows := `json_to_recordset(?::json) AS x(id bigint, addr text, consent boolean, topic text)`
	if s.Dialect != Postgres {
		rows = `(SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.addr') AS addr,
			json_extract(value, '$.consent') AS consent, json_extract(value, '$.topic') AS topic FROM json_each(?)) AS x`
	}
	return `UPDATE deliveries
		SET status = 'sending', claim_token = ?, claimed_at = ?, updated_at = ?, attempts = deliveries.attempts + 1
		FROM ` + rows + `
		WHERE deliveries.id = x.id` + s.idsIndexed() + ` AND deliveries.status IN ('pending', 'deferred')
			AND (deliveries.not_before IS NULL OR deliveries.not_before <= ?)
			AND (deliveries.expires_at IS NULL OR deliveries.expires_at >= ?)
			AND (NOT x.consent OR EXISTS (SELECT 1 FROM customers c WHERE c.id = deliveries.customer_id AND
				CASE deliveries.channel WHEN 'email' THEN c.email_consent ELSE c.sms_consent END))
			AND (x.addr = '' OR NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = deliveries.channel AND s.address = x.addr))
			AND (x.topic = '' OR NOT EXISTS (SELECT 1 FROM topic_optouts t WHERE t.customer_id = deliveries.customer_id AND t.topic = x.topic))
		RETURNING deliveries.id, deliveries.attempts`
}

// settleSQL records the outcomes of a JSON array of {id, token, status,
// provider_id, error} (outcomesJSON); blockSettleArgs are its arguments.
func (s *Store) settleSQL() string {
	rows := `json_to_recordset(?::json) AS x(id bigint, token text, status text, provider_id text, error text)`
	sentAt := `CASE WHEN x.status = 'sent' THEN ?::timestamptz END`
	if s.Dialect != Postgres {
		rows = `(SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.token') AS token,
			json_extract(value, '$.status') AS status, json_extract(value, '$.provider_id') AS provider_id,
			json_extract(value, '$.error') AS error FROM json_each(?)) AS x`
		sentAt = `CASE WHEN x.status = 'sent' THEN ? END`
	}
	return `UPDATE deliveries
		SET updated_at = ?, status = x.status, provider_id = x.provider_id, error = x.error, sent_at = ` + sentAt + `
		FROM ` + rows + `
		WHERE deliveries.id = x.id` + s.idsIndexed() + ` AND deliveries.claim_token = x.token AND deliveries.status = 'sending'
		RETURNING deliveries.id`
}

// idsIndexed is, on PostgreSQL, the condition that lets a block's update
// find its rows by the primary key: without it, the planner, which cannot
// tell how many rows the JSON holds (it guesses 100), scans the whole
// ledger. Its parameter is the JSON array again.
func (s *Store) idsIndexed() string {
	if s.Dialect != Postgres {
		return ""
	}
	return ` AND deliveries.id = ANY(ARRAY(SELECT (e->>'id')::bigint FROM json_array_elements(?::json) e))`
}

// rowsArgs is the JSON array of a block as the statement takes it: twice on
// PostgreSQL (idsIndexed).
func (s *Store) rowsArgs(rows string) []any {
	if s.Dialect == Postgres {
		return []any{rows, rows}
	}
	return []any{rows}
}

func (s *Store) blockSettleArgs(rows string, now time.Time) []any {
	return append([]any{now.UTC(), now.UTC()}, s.rowsArgs(rows)...)
}

func (s *Store) blockClaimArgs(token, rows string, now time.Time) []any {
	return append(append([]any{token, now.UTC(), now.UTC()}, s.rowsArgs(rows)...), now.UTC(), now.UTC())
}

// outcomesJSON is the JSON array settleSQL reads.
func outcomesJSON(outs []Outcome) string {
	type row struct {
		ID         int64  `json:"id"`
		Token      string `json:"token"`
		Status     Status `json:"status"`
		ProviderID string `json:"provider_id"`
		Error      Reason `json:"error"`
	}
	rows := make([]row, len(outs))
	for i, o := range outs {
		rows[i] = row{o.ID, o.Token, o.Status, o.ProviderID, truncate(o.Error, 500)}
	}
	return jsonText(rows)
}

// blockRowsJSON is the JSON array claimBlockSQL reads; addresses are looked
// up by their keyed hash, as the suppressions table stores them.
func (s *Store) blockRowsJSON(ctx context.Context, claim []BlockRow) (string, error) {
	type row struct {
		ID      int64  `json:"id"`
		Addr    string `json:"addr"`
		Consent bool   `json:"consent"`
		Topic   string `json:"topic"`
	}
	rows := make([]row, len(claim))
	for i, c := range claim {
		rows[i] = row{ID: c.ID, Topic: c.Check.Topic, Consent: c.Check.Address != "" && !c.Check.AskingConsent}
		if c.Check.Address != "" {
			h, err := s.keyedHash(ctx)
			if err != nil {
				return "", err
			}
			rows[i].Addr = h.sum(normalAddress(c.Check.Address))
		}
	}
	return jsonText(rows), nil
}
