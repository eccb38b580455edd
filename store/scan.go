package store

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"
)

// The scan targets below implement sql.Scanner for the few value shapes the
// two drivers return, so reading a row avoids database/sql's reflection and
// string round-trips, and NULL becomes the zero value.

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

type intInto struct{ p *int }

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
