package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tidings-crm/tidings/customer"
)

// The scan targets below implement sql.Scanner for the few value shapes the
// two drivers return, so reading a row avoids database/sql's reflection and
// string round-trips, and NULL becomes the zero value. They implement pgx's
// typed scanner interfaces too (ScanInt64, ScanFloat64...), which pgx's Scan
// calls without boxing the value, so one set of targets serves both drivers.

// scanTarget is the Scan target of a customers column of type typ read into
// ptr, a field of a Customer (see newCustomerRow).
func scanTarget(typ customer.Type, ptr any) any {
	switch p := ptr.(type) {
	case *int:
		return intInto{p}
	case *int64:
		return int64Into{p}
	case *float64:
		return floatInto{p}
	case *bool:
		return boolInto{p}
	case *time.Time:
		if typ == customer.Date {
			return dateInto{p}
		}
		return timeInto{p}
	}
	return ptr // *string, *jsonColumn
}

type int64Into struct{ p *int64 }

func (d int64Into) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*d.p = v
	case nil:
		*d.p = 0
	default:
		return fmt.Errorf("want an integer, got %T", src)
	}
	return nil
}

// ScanInt64 implements pgtype.Int64Scanner.
func (d int64Into) ScanInt64(v pgtype.Int8) error { *d.p = v.Int64; return nil }

type intInto struct{ p *int }

// ScanInt64 implements pgtype.Int64Scanner (SMALLINT, INTEGER, BIGINT).
func (d intInto) ScanInt64(v pgtype.Int8) error { *d.p = int(v.Int64); return nil }

func (d intInto) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*d.p = int(v)
	case nil:
		*d.p = 0
	default:
		return fmt.Errorf("want an integer, got %T", src)
	}
	return nil
}

type floatInto struct{ p *float64 }

// ScanFloat64 implements pgtype.Float64Scanner.
func (d floatInto) ScanFloat64(v pgtype.Float8) error { *d.p = v.Float64; return nil }

func (d floatInto) Scan(src any) error {
	switch v := src.(type) {
	case float64:
		*d.p = v
	case int64:
		*d.p = float64(v)
	case nil:
		*d.p = 0
	default:
		return fmt.Errorf("want a number, got %T", src)
	}
	return nil
}

type boolInto struct{ p *bool }

// ScanBool implements pgtype.BoolScanner.
func (d boolInto) ScanBool(v pgtype.Bool) error { *d.p = v.Bool; return nil }

func (d boolInto) Scan(src any) error {
	switch v := src.(type) {
	case bool:
		*d.p = v
	case int64:
		*d.p = v != 0
	case nil:
		*d.p = false
	default:
		return fmt.Errorf("want a boolean, got %T", src)
	}
	return nil
}

// timeInto reads a timestamp as UTC; NULL is the zero time.
type timeInto struct{ p *time.Time }

// ScanTimestamptz implements pgtype.TimestamptzScanner; ±infinity is the
// zero time, as NULL.
func (d timeInto) ScanTimestamptz(v pgtype.Timestamptz) error {
	*d.p = time.Time{}
	if v.Valid && v.InfinityModifier == pgtype.Finite {
		*d.p = v.Time.UTC()
	}
	return nil
}

func (d timeInto) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d.p = v.UTC()
	case nil:
		*d.p = time.Time{}
	case string:
		t, err := parseSQLiteTime(v)
		if err != nil {
			return err
		}
		*d.p = t
	default:
		return fmt.Errorf("want a time, got %T", src)
	}
	return nil
}

// dateInto reads a DATE (PostgreSQL) or 'YYYY-MM-DD' TEXT (SQLite) as UTC
// midnight; NULL is the zero time.
type dateInto struct{ p *time.Time }

// ScanDate implements pgtype.DateScanner; ±infinity is the zero time, as
// NULL.
func (d dateInto) ScanDate(v pgtype.Date) error {
	*d.p = time.Time{}
	if v.Valid && v.InfinityModifier == pgtype.Finite {
		y, m, day := v.Time.Date()
		*d.p = time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	}
	return nil
}

func (d dateInto) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		y, m, day := v.Date()
		*d.p = time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	case string:
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return fmt.Errorf("want a date YYYY-MM-DD, got %q", v)
		}
		*d.p = t
	case []byte:
		return d.Scan(string(v))
	case nil:
		*d.p = time.Time{}
	default:
		return fmt.Errorf("want a date, got %T", src)
	}
	return nil
}

// jsonColumn reads a JSON column (tags, attributes) of a customer row:
// Scan and the binary decoder keep the raw text, decode then fills the
// Customer's field (*[]string or *map[string]any), reusing its slice or
// map and skipping the JSON decoder for the common empty values.
type jsonColumn struct {
	name     string
	field    any
	customer *Customer // named in errors
	raw      []byte    // the row's value: driver memory, or buf
	buf      []byte
}

// Scan implements sql.Scanner. A []byte is driver memory, valid until the
// next Scan, and decode runs before then.
func (j *jsonColumn) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		j.raw = v
	case string:
		j.buf = append(j.buf[:0], v...)
		j.raw = j.buf
	case nil:
		j.raw = nil
	default:
		return fmt.Errorf("want JSON text, got %T", src)
	}
	return nil
}

// ScanBytes implements pgtype.BytesScanner (pgx hands JSON over as its
// text).
func (j *jsonColumn) ScanBytes(v []byte) error { j.raw = v; return nil }

func (j *jsonColumn) decode() error {
	switch p := j.field.(type) {
	case *[]string:
		if isEmptyJSON(j.raw, '[', ']') {
			*p = (*p)[:0]
			return nil
		}
		if err := json.Unmarshal(j.raw, p); err != nil {
			return fmt.Errorf("decode %s of customer %d: %w", j.name, j.customer.ID, err)
		}
	case *map[string]any:
		clear(*p)
		if isEmptyJSON(j.raw, '{', '}') {
			return nil
		}
		if err := json.Unmarshal(j.raw, p); err != nil {
			return fmt.Errorf("decode %s of customer %d: %w", j.name, j.customer.ID, err)
		}
	}
	return nil
}

func isEmptyJSON(b []byte, open, close byte) bool {
	if len(b) == 0 {
		return true
	}
	if len(b) == 2 {
		return b[0] == open && b[1] == close
	}
	if b[0] != open || b[len(b)-1] != close {
		return false
	}
	for _, ch := range b[1 : len(b)-1] {
		if ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r' {
			return false
		}
	}
	return true
}

// sqliteTimeLayouts are the text forms SQLite may hold for a time computed in
// SQL (an aggregate loses the column's declared type).
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z07:00",
	time.DateOnly,
}

func parseSQLiteTime(s string) (time.Time, error) {
	for _, l := range sqliteTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want a time, got %q", s)
}

// dateArg is a birthday as the dialect stores it: a time for PostgreSQL's
// DATE, 'YYYY-MM-DD' text for SQLite; NULL for the zero time.
func (s *Store) dateArg(t time.Time) driver.Value {
	if t.IsZero() {
		return nil
	}
	if s.Dialect == SQLite {
		return t.Format(time.DateOnly)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// timeArg is a nullable timestamp argument: NULL for the zero time, UTC
// otherwise.
func timeArg(t time.Time) driver.Value {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}
