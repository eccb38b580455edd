package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
)

// ErrInvalidInput marks an input row the store refuses before writing it (no
// external id, no order time, items that are not JSON). Callers branch on it
// with errors.Is, as on RowFault.
var ErrInvalidInput = errors.New("invalid input")

// RowError is an input row a write left out, by its index in the input, and
// why (the store's own check or the database's refusal).
type RowError struct {
	Index int
	Err   error
}

// Error says which input row failed and why.
func (e RowError) Error() string { return "row " + strconv.Itoa(e.Index) + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e RowError) Unwrap() error { return e.Err }

// RowFault reports whether err is the fault of the data written rather than
// of the database or the connection: the store's own input checks, or a
// refusal of the values (PostgreSQL SQLSTATE classes 22 data exception,
// 23 constraint violation and 54 limit exceeded, e.g. a byte sequence that
// is not UTF-8 or an index entry too large; SQLite's constraint, too big,
// mismatch and range errors). A batch that fails with a row fault can be
// retried row by row to keep its good rows; any other error would fail
// every row alike.
func RowFault(err error) bool {
	if errors.Is(err, ErrInvalidInput) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && len(pe.Code) == 5 {
		switch pe.Code[:2] {
		case "22", "23", "54":
			return true
		}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 18, 19, 20, 25: // SQLITE_TOOBIG, SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_RANGE
			return true
		}
	}
	return false
}

// batchOrEach writes n input rows through batch, one statement for them all;
// when the database refuses it for the data of some row (RowFault), it writes
// them again one by one through one (eachRow), so that only the refused rows
// are left out. what names the rows in errors ("customers").
func (s *Store) batchOrEach(ctx context.Context, what string, n int, batch func() (UpsertResult, error),
	one func(tx *sqlx.Tx, i int) (UpsertResult, error)) (UpsertResult, []RowError, error) {
	res, err := batch()
	if err == nil || !RowFault(err) {
		return res, nil, err
	}
	res, refused, err := s.eachRow(ctx, n, one)
	if err != nil {
		return res, nil, fmt.Errorf("store: upsert %s one by one: %w", what, err)
	}
	return res, refused, nil
}

// eachRow writes n input rows one by one in one transaction, each under its
// own savepoint: a row whose write fails with a RowFault is rolled back alone
// and returned; any other error rolls everything back and is returned. It is
// the slow path that isolates the rows a batch statement was refused for.
func (s *Store) eachRow(ctx context.Context, n int, write func(tx *sqlx.Tx, i int) (UpsertResult, error)) (UpsertResult, []RowError, error) {
	var (
		res     UpsertResult
		refused []RowError
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for i := range n {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT tidings_row"); err != nil {
				return err
			}
			r, err := write(tx, i)
			if err != nil && !RowFault(err) {
				return err
			}
			if err != nil {
				refused = append(refused, RowError{Index: i, Err: err})
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT tidings_row"); err != nil {
					return err
				}
			} else {
				res.Add(r)
			}
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT tidings_row"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return UpsertResult{}, nil, err
	}
	return res, refused, nil
}
