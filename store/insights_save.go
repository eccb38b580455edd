package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/tidings-crm/tidings/customer"
)

// SaveInsights writes rows of refreshed intelligence in one transaction
// (SaveInsightsFrom), and records every change of lifecycle stage or
// loyalty tier. Each customer must appear at most once in rows.
func (s *Store) SaveInsights(ctx context.Context, rows []InsightRow, tierOrder ...string) ([]Change, error) {
	return s.SaveInsightsFrom(ctx, func(yield func(InsightRow) error) error {
		for _, r := range rows {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	}, tierOrder...)
}

// insightsSaveLock is the PostgreSQL advisory lock key that serialises
// the transactions of SaveInsightsFrom ("tidings insights" in ASCII, cut
// to 8 bytes).
const insightsSaveLock = 0x7469_6469_6e67_7369

// insightsChunk is the number of rows SaveInsightsFrom writes per
// transaction: large enough that the per-statement costs vanish, small
// enough that no row lock (PostgreSQL) or the write lock (SQLite) is held
// for long against the shop's own writes.
const insightsChunk = 25_000

// SaveInsightsFrom writes the intelligence rows that rows yields, however
// many (a whole refresh), in transactions of insightsChunk rows: each chunk
// is loaded into a temporary table (COPY on PostgreSQL, one prepared
// INSERT on SQLite), the stored stages and tiers it changes are read with
// one query, and one UPDATE ... FROM writes it. In the same transaction it
// records every change of lifecycle stage (Changes): a customer_events row
// (Tidings' own log) and an event of the events log with its inbox row, so
// event-triggered campaigns and journeys hear it once its reaction runs
// (the caller enqueues the returned Change.EventID). The first stage a
// customer ever gets (the stored one is "") is not a change. The chunks'
// transactions are serialised (an advisory lock on PostgreSQL, SQLite's
// single writer) and read the stored stages inside, so concurrent
// refreshes record each change once. Rows for customers that no longer
// exist are skipped. Each customer must appear at most once. A change of
// loyalty tier is recorded alike (TierChangedEvent); tierOrder lists the
// tiers lowest first, for its direction (a tier not in it ranks lowest).
//
// rows calls yield once per row and returns yield's error if it fails (a
// refused row, a failed write) or its own error: either stops the save,
// its current chunk not written (chunks written before stay). rows may
// read the store while it yields (no transaction is open then).
func (s *Store) SaveInsightsFrom(ctx context.Context, rows func(yield func(InsightRow) error) error,
	tierOrder ...string) ([]Change, error) {
	rank := make(map[string]int, len(tierOrder))
	for i, t := range tierOrder {
		rank[t] = i
	}
	var (
		changes []Change
		saved   int
	)
	part := make([]InsightRow, 0, insightsChunk)
	flush := func() error {
		c, err := s.saveInsightsChunk(ctx, part, rank)
		if err != nil {
			return fmt.Errorf("store: save insights of customers %d-%d: %w", saved+1, saved+len(part), err)
		}
		changes, saved, part = append(changes, c...), saved+len(part), part[:0]
		return nil
	}
	err := rows(func(r InsightRow) error {
		if err := validInsight(r); err != nil {
			return fmt.Errorf("store: save insights: customer %d: %w", r.CustomerID, err)
		}
		if part = append(part, r); len(part) == insightsChunk {
			return flush()
		}
		return nil
	})
	if err == nil && len(part) > 0 {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	return changes, nil
}

// insightTempTable is the DDL of the temporary table a chunk is loaded into.
func insightTempTable(d Dialect) string {
	cols := []string{"id BIGINT NOT NULL"}
	for _, c := range insightSchema() {
		cols = append(cols, c.name+" "+c.typ.SQLType(string(d))[0])
	}
	if d == Postgres {
		return `CREATE TEMPORARY TABLE insight_rows (` + strings.Join(cols, ", ") + `) ON COMMIT DROP`
	}
	return `CREATE TEMPORARY TABLE insight_rows (` + strings.Join(cols, ", ") + `)`
}

// saveInsightsChunk writes part in one transaction on a connection of its
// own (COPY needs the driver's connection).
func (s *Store) saveInsightsChunk(ctx context.Context, part []InsightRow, rank map[string]int) ([]Change, error) {
	conn, err := s.DB.Connx(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if s.Dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(insightsSaveLock)); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, insightTempTable(s.Dialect)); err != nil {
		return nil, fmt.Errorf("create the temporary table: %w", err)
	}
	cols := insightSchema()
	names := []string{"id"}
	for _, c := range cols {
		names = append(names, c.name)
	}
	if s.Dialect == Postgres {
		err = conn.Raw(func(dc any) error {
			pc, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("unexpected driver connection %T", dc)
			}
			i := 0
			var vals []any
			_, err := pc.Conn().CopyFrom(ctx, pgx.Identifier{"insight_rows"}, names, pgx.CopyFromFunc(func() ([]any, error) {
				if i == len(part) {
					return nil, nil
				}
				vals = part[i].appendValues(vals[:0], cols, false)
				i++
				return vals, nil
			}))
			return err
		})
	} else {
		err = insertInsightRows(ctx, tx, names, cols, part)
	}
	if err != nil {
		return nil, fmt.Errorf("load %d rows: %w", len(part), err)
	}
	lo, hi := part[0].CustomerID, part[0].CustomerID
	for _, r := range part {
		lo, hi = min(lo, r.CustomerID), max(hi, r.CustomerID)
	}
	changes, err := applyInsightRows(ctx, tx, lo, hi, part[0].At.UTC(), rank)
	if err != nil {
		return nil, err
	}
	if s.Dialect == SQLite {
		if _, err := tx.ExecContext(ctx, `DROP TABLE temp.insight_rows`); err != nil {
			return nil, err
		}
	}
	return changes, tx.Commit()
}

// insertInsightRows loads part into SQLite's temporary table with one
// prepared statement.
func insertInsightRows(ctx context.Context, tx *sqlx.Tx, names []string, cols []insightColumn, part []InsightRow) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO temp.insight_rows (`+strings.Join(names, ", ")+`) VALUES `+
		placeholders(len(names)))
	if err != nil {
		return err
	}
	defer stmt.Close()
	args := make([]any, 0, len(names))
	for i := range part {
		args = part[i].appendValues(args[:0], cols, true)
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// appendValues appends r's id and column values in insightSchema order:
// bound arguments (times as timeArg has them) for SQLite, COPY values for
// PostgreSQL.
func (r *InsightRow) appendValues(args []any, cols []insightColumn, bound bool) []any {
	v := reflect.ValueOf(r).Elem()
	args = append(args, r.CustomerID)
	for _, col := range cols {
		f := v.FieldByIndex(col.row)
		if col.typ == customer.Time {
			t := f.Interface().(time.Time)
			if bound {
				args = append(args, timeArg(t))
			} else if t.IsZero() {
				args = append(args, nil)
			} else {
				args = append(args, t.UTC())
			}
			continue
		}
		args = append(args, f.Interface())
	}
	return args
}

// applyInsightRows reads the stages and tiers the loaded rows (customer
// ids lo to hi) change, writes every row with one UPDATE, and records the
// changes. The id range keeps both statements on the primary key's range
// of the chunk (the temporary table has no statistics to plan with).
func applyInsightRows(ctx context.Context, tx *sqlx.Tx, lo, hi int64, at time.Time, rank map[string]int) ([]Change, error) {
	rows, err := tx.QueryContext(ctx, tx.Rebind(`SELECT c.id, c.external_id, c.lifecycle, c.tier, n.lifecycle, n.tier
		FROM customers c JOIN insight_rows n ON n.id = c.id
		WHERE c.id BETWEEN ? AND ?
		AND ((c.lifecycle <> '' AND c.lifecycle <> n.lifecycle) OR (c.tier <> '' AND n.tier <> '' AND c.tier <> n.tier))
		ORDER BY c.id`), lo, hi)
	if err != nil {
		return nil, fmt.Errorf("read the changed stages: %w", err)
	}
	var changes []Change
	for rows.Next() {
		var (
			old storedScore
			r   InsightRow
		)
		if err := rows.Scan(int64Into{&r.CustomerID}, &old.external, &old.lifecycle, &old.tier, &r.Lifecycle, &r.Tier); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the changed stages: %w", err)
		}
		changes = appendChanges(changes, old, r, rank)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the changed stages: %w", err)
	}
	cols := insightSchema()
	sets := make([]string, len(cols))
	for i, c := range cols {
		sets[i] = c.name + " = n." + c.name
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE customers SET `+strings.Join(sets, ", ")+`
		FROM insight_rows n WHERE customers.id = n.id AND customers.id BETWEEN ? AND ?`), lo, hi); err != nil {
		return nil, fmt.Errorf("update the customers: %w", err)
	}
	for _, ch := range chunks(len(changes), maxRowsPerInsert) {
		if err := recordChanges(ctx, tx, changes[ch[0]:ch[1]], at); err != nil {
			return nil, err
		}
	}
	return changes, nil
}
