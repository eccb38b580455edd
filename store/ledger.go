package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tidings-crm/tidings/channels"
)

// Status is a delivery row's place in its life, as stored in the ledger's
// status column. Typed so a reason or a channel name cannot be passed where a
// status is expected; it scans from and writes to SQL as the plain string.
type Status string

// Delivery statuses. A row is written before anything is enqueued; a send
// claims it (pending/deferred -> sending) and records the outcome.
const (
	StatusPending    Status = "pending"    // to send
	StatusDeferred   Status = "deferred"   // to send at NotBefore (quiet hours)
	StatusSending    Status = "sending"    // claimed by a worker
	StatusSent       Status = "sent"       // the provider accepted it
	StatusFailed     Status = "failed"     // permanently refused, or out of attempts
	StatusUnknown    Status = "unknown"    // the worker died mid-send: not resent by default
	StatusHoldout    Status = "holdout"    // control group: no message on purpose
	StatusSuppressed Status = "suppressed" // no consent, no address, or on a suppression list
	StatusCapped     Status = "capped"     // frequency cap reached (or displaced by a higher priority)
	StatusCancelled  Status = "cancelled"  // exit condition met, or campaign paused/removed
	StatusExpired    Status = "expired"    // could not go out by ExpiresAt (the campaign's late policy): never sent
)

// Reason is why a ledger row is where it is, as its error column holds it:
// why it waits (deferred), why it was not sent (suppressed, capped,
// cancelled, expired) or why its send failed (the provider's error). Typed
// so a status, a channel or a suppression reason cannot be written there by
// mistake; it scans from and writes to SQL as the plain string.
type Reason string

// Reasons that code and tests match on, in one place so a reworded reason
// cannot silently break a comparison. Other reasons (a provider's error, a
// cap's figures, a late row's times) are built where they happen.
const (
	ReasonSendTime     Reason = "send time"      // deferred to the trigger's local time or the event's delay
	ReasonQuietHours   Reason = "quiet hours"    // deferred out of the customer's quiet hours (the contact policy)
	ReasonBlackout     Reason = "blackout date"  // deferred past a blackout date (the contact policy)
	ReasonExitPrefix   Reason = "exit: "         // begins the reason of a row cancelled by the campaign's exit_on, then the event type
	ReasonExitPurchase Reason = "exit: purchase" // cancelled: the customer purchased (the campaign's exit_on)
	ReasonLatePrefix   Reason = "late: "         // begins the reason of every expired row (the late policy)
)

// Delivery is one row of the ledger.
type Delivery struct {
	ID          int64         `db:"id"`
	CampaignID  string        `db:"campaign_id"`
	CustomerID  int64         `db:"customer_id"`
	Occurrence  string        `db:"occurrence"`
	Channel     channels.Name `db:"channel"`
	Variant     string        `db:"variant"`
	Status      Status        `db:"status"`
	Attempts    int           `db:"attempts"`
	ClaimToken  *string       `db:"claim_token"`
	ProviderID  string        `db:"provider_id"`
	Error       Reason        `db:"error"`
	Priority    int           `db:"priority"`
	CappedClass bool          `db:"capped_class"`
	RunID       *int64        `db:"run_id"`
	EventID     *string       `db:"event_id"` // the triggering webhook event, for event campaigns
	NotBefore   *time.Time    `db:"not_before"`
	ExpiresAt   *time.Time    `db:"expires_at"` // the last instant it may be sent (late policy); nil: no limit
	CreatedAt   time.Time     `db:"created_at"`
	UpdatedAt   time.Time     `db:"updated_at"`
	ClaimedAt   *time.Time    `db:"claimed_at"`
	SentAt      *time.Time    `db:"sent_at"`
}

const deliveryColumns = `id, campaign_id, customer_id, occurrence, channel, variant, status, attempts, claim_token,
	provider_id, error, priority, capped_class, run_id, event_id, not_before, expires_at, created_at, updated_at,
	claimed_at, sent_at`

// NewDelivery is a ledger row to write for one customer of a run.
type NewDelivery struct {
	CampaignID  string
	CustomerID  int64
	Occurrence  string
	Channel     channels.Name
	Variant     string
	Status      Status
	Priority    int
	CappedClass bool
	RunID       int64
	EventID     string    // the triggering webhook event ("" for scheduled runs)
	NotBefore   time.Time // zero: none
	ExpiresAt   time.Time // the last instant it may be sent; zero: no limit
	Error       Reason    // why a row is suppressed/capped/expired
}

// Inserted is a ledger row InsertDeliveries created (rows that already
// existed for the same campaign, customer and occurrence are not returned).
type Inserted struct {
	ID         int64      `db:"id"`
	CustomerID int64      `db:"customer_id"`
	Status     Status     `db:"status"`
	NotBefore  *time.Time `db:"not_before"`
}

// InsertDeliveries writes rows in one statement, skipping any whose
// (campaign, customer, occurrence) already exists: that unique key is what
// makes re-runs, retried tasks and concurrent schedulers send once.
func (s *Store) InsertDeliveries(ctx context.Context, rows []NewDelivery, now time.Time) ([]Inserted, error) {
	if s.Dialect != Postgres || len(rows) == 0 {
		return insertDeliveries(ctx, s.DB, rows, now)
	}
	var out []Inserted
	err := s.inTx(ctx, func(tx *sqlx.Tx) error { // the periods and the rows together
		var err error
		out, err = insertDeliveries(ctx, tx, rows, now)
		return err
	})
	return out, err
}

// insertDeliveries is InsertDeliveries through db (SQLite's pool or a
// transaction; on PostgreSQL always a transaction, see deliveryPeriods).
func insertDeliveries(ctx context.Context, db sqlx.ExtContext, rows []NewDelivery, now time.Time) ([]Inserted, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	// PostgreSQL's ledger is partitioned by period, which the unique key
	// holds (migration 0022); SQLite's is one table.
	var periods map[periodKey]time.Time
	cols, marks, key := "", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "(campaign_id, customer_id, occurrence)"
	if db.DriverName() == "pgx" {
		var err error
		if periods, err = deliveryPeriods(ctx, db, rows, now); err != nil {
			return nil, err
		}
		cols, marks, key = ", period", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "(campaign_id, customer_id, occurrence, period)"
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO deliveries (campaign_id, customer_id, occurrence, channel, variant, status, priority,
		capped_class, run_id, event_id, not_before, expires_at, error, created_at, updated_at` + cols + `) VALUES `)
	args := make([]any, 0, len(rows)*16)
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(marks)
		var runID, eventID any
		if r.RunID != 0 {
			runID = r.RunID
		}
		if r.EventID != "" {
			eventID = r.EventID
		}
		args = append(args, r.CampaignID, r.CustomerID, r.Occurrence, r.Channel, r.Variant, r.Status, r.Priority,
			r.CappedClass, runID, eventID, timeArg(r.NotBefore), timeArg(r.ExpiresAt), r.Error, now.UTC(), now.UTC())
		if periods != nil {
			args = append(args, periods[periodKey{r.CampaignID, r.Occurrence}])
		}
	}
	b.WriteString(` ON CONFLICT ` + key + ` DO NOTHING
		RETURNING id, customer_id, status, not_before`)
	var out []Inserted
	if err := sqlx.SelectContext(ctx, db, &out, db.Rebind(b.String()), args...); err != nil {
		return nil, fmt.Errorf("store: insert deliveries: %w", err)
	}
	return out, nil
}

// Delivery returns one ledger row.
func (s *Store) Delivery(ctx context.Context, id int64) (*Delivery, error) {
	var d Delivery
	err := s.DB.GetContext(ctx, &d, s.DB.Rebind(`SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: delivery %d: %w", id, err)
	}
	return &d, nil
}

// FinishDelivery records the outcome of a claimed send: status sent, failed,
// unknown, suppressed or cancelled. The claim token fences it: a worker whose
// claim was taken over (lease expired) changes nothing and learns it (false).
//
// On PostgreSQL the commit does not wait for the WAL flush: if the database
// crashes before the flush, the row is still "sending", and the reconciler
// marks it unknown, never resent. The claim, which guards against double
// sends, is always committed durably.
func (s *Store) FinishDelivery(ctx context.Context, id int64, token string, status Status, providerID string, errText Reason, now time.Time) (bool, error) {
	var sentAt any
	if status == StatusSent {
		sentAt = now.UTC()
	}
	// set_config(..., true) is local to the statement's own transaction.
	noWait := ""
	if s.Dialect == Postgres {
		noWait = ` FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit`
	}
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE deliveries
		SET status = ?, provider_id = ?, error = ?, sent_at = ?, updated_at = ?`+noWait+`
		WHERE id = ? AND claim_token = ? AND status = 'sending'`),
		status, providerID, truncate(errText, 500), sentAt, now.UTC(), id, token)
	if err != nil {
		return false, fmt.Errorf("store: finish delivery %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseDelivery hands a claimed row back (a transient failure, a shutdown,
// quiet hours): it becomes pending, or deferred until notBefore.
func (s *Store) ReleaseDelivery(ctx context.Context, id int64, token string, notBefore time.Time, errText Reason, now time.Time) (bool, error) {
	status := StatusPending
	if !notBefore.IsZero() {
		status = StatusDeferred
	}
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE deliveries
		SET status = ?, not_before = ?, error = ?, claim_token = NULL, updated_at = ?
		WHERE id = ? AND claim_token = ? AND status = 'sending'`),
		status, timeArg(notBefore), truncate(errText, 500), now.UTC(), id, token)
	if err != nil {
		return false, fmt.Errorf("store: release delivery %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CancelDeliveries moves rows that are still waiting (pending or deferred) to
// status with a reason; rows already claimed or finished are left alone.
func (s *Store) CancelDeliveries(ctx context.Context, ids []int64, status Status, reason Reason, now time.Time) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	q, args, err := sqlx.In(`UPDATE deliveries SET status = ?, error = ?, updated_at = ?
		WHERE id IN (?) AND status IN ('pending', 'deferred')`, status, reason, now.UTC(), ids)
	if err != nil {
		return 0, err
	}
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(q), args...)
	if err != nil {
		return 0, fmt.Errorf("store: cancel deliveries: %w", err)
	}
	return res.RowsAffected()
}

// WaitingFor lists the customer's rows of the given campaigns that are still
// waiting (pending or deferred) and were created at or before before: the
// rows an exit condition (a purchase) cancels.
func (s *Store) WaitingFor(ctx context.Context, customerID int64, campaignIDs []string, before time.Time) ([]int64, error) {
	if len(campaignIDs) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(`SELECT id FROM deliveries WHERE customer_id = ? AND campaign_id IN (?)
		AND status IN ('pending', 'deferred') AND created_at <= ? ORDER BY id`, customerID, campaignIDs, before.UTC())
	if err != nil {
		return nil, err
	}
	var ids []int64
	if err := s.DB.SelectContext(ctx, &ids, s.DB.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: waiting deliveries of customer %d: %w", customerID, err)
	}
	return ids, nil
}

// ExpireClaims settles rows stuck in sending since before olderThan (their
// worker died): unknown by default, so they are not sent twice, or pending
// again for the campaigns in resend that opted into resending.
func (s *Store) ExpireClaims(ctx context.Context, olderThan time.Time, resend []string, now time.Time) (unknown, requeued int64, err error) {
	if len(resend) > 0 {
		q, args, err := sqlx.In(`UPDATE deliveries SET status = 'pending', claim_token = NULL, updated_at = ?,
			error = 'claim expired; resending (campaign opted in)'
			WHERE status = 'sending' AND claimed_at < ? AND campaign_id IN (?)`, now.UTC(), olderThan.UTC(), resend)
		if err != nil {
			return 0, 0, err
		}
		res, err := s.DB.ExecContext(ctx, s.DB.Rebind(q), args...)
		if err != nil {
			return 0, 0, fmt.Errorf("store: requeue expired claims: %w", err)
		}
		requeued, _ = res.RowsAffected()
	}
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE deliveries SET status = 'unknown', updated_at = ?,
		error = 'worker stopped mid-send; outcome unknown, not resent'
		WHERE status = 'sending' AND claimed_at < ?`), now.UTC(), olderThan.UTC())
	if err != nil {
		return 0, requeued, fmt.Errorf("store: expire claims: %w", err)
	}
	unknown, _ = res.RowsAffected()
	return unknown, requeued, nil
}

// WaitingDelivery is a pending or deferred row the reconciler may re-enqueue.
type WaitingDelivery struct {
	ID        int64      `db:"id"`
	NotBefore *time.Time `db:"not_before"`
}

// StaleWaiting lists up to limit pending or deferred rows not touched since
// before olderThan, oldest first, and touches them, so that a pass of the
// reconciler does not pick the same rows again right away.
func (s *Store) StaleWaiting(ctx context.Context, olderThan time.Time, limit int, now time.Time) ([]WaitingDelivery, error) {
	var out []WaitingDelivery
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &out, tx.Rebind(`SELECT id, not_before FROM deliveries
			WHERE status IN ('pending', 'deferred') AND updated_at < ? ORDER BY id LIMIT ?`),
			olderThan.UTC(), limit); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		ids := make([]int64, len(out))
		for i, w := range out {
			ids[i] = w.ID
		}
		q, args, err := sqlx.In(`UPDATE deliveries SET updated_at = ? WHERE id IN (?)`, now.UTC(), ids)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(q), args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: stale waiting deliveries: %w", err)
	}
	return out, nil
}

// RecentDelivery is a live (waiting, sending or sent) ledger row of a
// customer, for frequency caps and "once per N days" look-backs.
type RecentDelivery struct {
	ID          int64         `db:"id"`
	CustomerID  int64         `db:"customer_id"`
	CampaignID  string        `db:"campaign_id"`
	Occurrence  string        `db:"occurrence"`
	Channel     channels.Name `db:"channel"`
	Status      Status        `db:"status"`
	Priority    int           `db:"priority"`
	CappedClass bool          `db:"capped_class"`
	CreatedAt   time.Time     `db:"created_at"`
}

// RecentDeliveries returns the live rows created since since for the given
// customers, across all campaigns.
func (s *Store) RecentDeliveries(ctx context.Context, customerIDs []int64, since time.Time) ([]RecentDelivery, error) {
	if len(customerIDs) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(`SELECT id, customer_id, campaign_id, occurrence, channel, status, priority,
		capped_class, created_at FROM deliveries WHERE customer_id IN (?) AND created_at >= ?
		AND status IN ('pending', 'deferred', 'sending', 'sent', 'unknown')`, customerIDs, since.UTC())
	if err != nil {
		return nil, err
	}
	var out []RecentDelivery
	if err := s.DB.SelectContext(ctx, &out, s.DB.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: recent deliveries: %w", err)
	}
	return out, nil
}

// SuppressedSet returns which of the addresses are on the channel's
// suppression list (keyed by the address as given; NormalizeAddress makes
// the match, so give them normalised to look them up again).
func (s *Store) SuppressedSet(ctx context.Context, channel channels.Name, addresses []string) (map[string]bool, error) {
	return s.suppressedSet(ctx, s.DB, channel, addresses)
}

func (s *Store) suppressedSet(ctx context.Context, db sqlx.QueryerContext, channel channels.Name, addresses []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(addresses) == 0 {
		return out, nil
	}
	if _, err := s.keyedHash(ctx); err != nil {
		return nil, err
	}
	byHash := make(map[string][]string, len(addresses))
	hashes := make([]string, 0, len(addresses))
	for _, a := range addresses {
		h, err := s.AddressHash(ctx, channel, a)
		if err != nil {
			continue // an empty address is on no list
		}
		if _, dup := byHash[h]; !dup {
			hashes = append(hashes, h)
		}
		byHash[h] = append(byHash[h], a)
	}
	for _, ch := range chunks(len(hashes), maxInList) {
		q, args, err := sqlx.In(`SELECT address FROM suppressions WHERE channel = ? AND address IN (?)`, channel, hashes[ch[0]:ch[1]])
		if err != nil {
			return nil, err
		}
		var found []string
		if err := sqlx.SelectContext(ctx, db, &found, s.DB.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("store: suppressed addresses: %w", err)
		}
		for _, h := range found {
			for _, a := range byHash[h] {
				out[a] = true
			}
		}
	}
	return out, nil
}

// CampaignCounts counts a campaign's ledger rows by status.
func (s *Store) CampaignCounts(ctx context.Context, campaignID string) (map[Status]int, error) {
	n, err := s.countByStatus(ctx, `SELECT status, count(*) FROM deliveries
		WHERE campaign_id = ? GROUP BY status`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("store: campaign counts: %w", err)
	}
	return n, nil
}

// countByStatus runs a (status, count) query and returns it as a map.
func (s *Store) countByStatus(ctx context.Context, query string, args ...any) (map[Status]int, error) {
	rows, err := s.DB.QueryxContext(ctx, s.DB.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[Status]int{}
	for rows.Next() {
		var st Status
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// CountActive counts rows still waiting or being sent, across all campaigns.
func (s *Store) CountActive(ctx context.Context) (int, error) {
	var n int
	err := s.DB.GetContext(ctx, &n, `SELECT count(*) FROM deliveries WHERE status IN ('pending', 'deferred', 'sending')`)
	return n, err
}

func truncate[S ~string](s S, n int) S {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// CountDue counts rows due by now and not finished: waiting rows whose time
// has come, and rows being sent.
func (s *Store) CountDue(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.DB.GetContext(ctx, &n, s.DB.Rebind(`SELECT count(*) FROM deliveries
		WHERE status IN ('pending', 'deferred', 'sending')
		AND (status = 'sending' OR not_before IS NULL OR not_before <= ?)`), now.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: count due: %w", err)
	}
	return n, nil
}
