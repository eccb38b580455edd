package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/stdlib"
)

// A PostgreSQL stream goes through pgx directly instead of database/sql,
// which avoids boxing every column in an interface and roughly halves the
// cost of a streamed row; when the page comes in the binary formats the
// row's decoders know, rows are decoded from their raw bytes (wire.go),
// which skips pgx's per-column scan plans too.

// wireDisabled makes every page go through pgx's Scan; tests set it to
// compare the two decoders.
var wireDisabled bool

// streamPagePgx is streamPage over pgx's native interface, for PostgreSQL.
func (s *Store) streamPagePgx(ctx context.Context, query string, r *customerRow, fn func(*Customer) error,
	args ...any) (int, error) {
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: stream customers: %w", err)
	}
	defer conn.Close()
	n := 0
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		rows, err := sc.Conn().Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		raw := !wireDisabled && r.bind(rows.FieldDescriptions())
		for rows.Next() {
			if raw {
				err = r.decode(rows.RawValues())
			} else {
				err = r.scan(rows)
			}
			if err != nil {
				return err
			}
			n++
			if err := fn(r.c); err != nil {
				return errStop{err}
			}
		}
		return rows.Err()
	})
	var stop errStop
	if errors.As(err, &stop) {
		return n, stop.err
	}
	if err != nil {
		return n, fmt.Errorf("store: stream customers %s: %w", pageName(args), err)
	}
	return n, nil
}
