package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tidings-crm/tidings/customer"
)

// A customerRow decodes a PostgreSQL row straight from its binary result
// format (pgx's RawValues), for the column types of the customers table.
// Decoding the few known shapes by hand costs a fraction of pgx's generic
// Scan, which is most of the Go side of an audience stream. A page whose
// columns come in another type or format (a changed schema, the simple
// protocol) falls back to Scan: bind says which.

// wireDecoder decodes one column's raw value into its Customer field. NULL
// (a nil b) decodes to the zero value, as the Scan path does.
type wireDecoder func(b []byte) error

// bind prepares decoding of a page whose columns are described by fds, and
// reports whether every column comes in a type and format a decoder reads;
// false means the page must go through Scan.
func (r *customerRow) bind(fds []pgconn.FieldDescription) bool {
	if len(fds) != len(r.cols) {
		return false
	}
	r.decs = r.decs[:0]
	for i, fd := range fds {
		dec := r.decoder(r.cols[i], fd.DataTypeOID, fd.Format == pgtype.BinaryFormatCode)
		if dec == nil {
			return false
		}
		r.decs = append(r.decs, dec)
	}
	return true
}

// decoder returns the decoder of col's values of type oid, in binary or
// text format, or nil when it has none. Text reads the same in both
// formats, and so does JSON but for JSONB's binary version byte.
func (r *customerRow) decoder(col boundColumn, oid uint32, binary bool) wireDecoder {
	switch p := col.ptr.(type) {
	case *string:
		switch {
		case oid != pgtype.TextOID:
			return nil
		case col.few:
			return func(b []byte) error { *p = r.intern(b); return nil }
		}
		return func(b []byte) error { *p = string(b); return nil }
	case *jsonColumn:
		switch {
		case oid != pgtype.JSONBOID:
			return nil
		case !binary:
			return func(b []byte) error { p.raw = b; return nil }
		}
		return func(b []byte) (err error) { p.raw, err = wireJSONB(b); return }
	}
	if !binary {
		return nil
	}
	switch p := col.ptr.(type) {
	case *int:
		switch oid {
		case pgtype.Int2OID:
			return func(b []byte) (err error) { *p, err = wireInt2(b); return }
		case pgtype.Int4OID:
			return func(b []byte) (err error) { *p, err = wireInt4(b); return }
		case pgtype.Int8OID:
			return func(b []byte) error { v, err := wireInt8(b); *p = int(v); return err }
		}
	case *int64:
		if oid == pgtype.Int8OID {
			return func(b []byte) (err error) { *p, err = wireInt8(b); return }
		}
	case *float64:
		if oid == pgtype.Float8OID {
			return func(b []byte) (err error) { *p, err = wireFloat8(b); return }
		}
	case *bool:
		if oid == pgtype.BoolOID {
			return func(b []byte) (err error) { *p, err = wireBool(b); return }
		}
	case *time.Time:
		switch {
		case col.typ == customer.Date && oid == pgtype.DateOID:
			return func(b []byte) (err error) { *p, err = wireDate(b); return }
		case col.typ == customer.Time && oid == pgtype.TimestamptzOID:
			return func(b []byte) (err error) { *p, err = wireTime(b); return }
		}
	}
	return nil
}

// decode fills the Customer from one row's raw values; columns the page
// does not select keep their zero value.
func (r *customerRow) decode(vals [][]byte) error {
	if len(vals) != len(r.decs) {
		return fmt.Errorf("decode customer row: %d values for %d columns", len(vals), len(r.decs))
	}
	for i, dec := range r.decs {
		if err := dec(vals[i]); err != nil {
			return fmt.Errorf("decode column %s of customer %d: %w", r.cols[i].name, r.c.ID, err)
		}
	}
	return r.decodeJSON()
}

// maxInterned bounds the interned strings of one stream, so a column of
// unique values (garbage in a time zone column) cannot grow it for ever.
const maxInterned = 4096

// intern returns b as a string, reusing one string per distinct value of
// the columns with few values (segment, lifecycle, locale, time zone).
func (r *customerRow) intern(b []byte) string {
	if s, ok := r.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if r.strs == nil {
		r.strs = map[string]string{}
	}
	if len(r.strs) < maxInterned {
		r.strs[s] = s
	}
	return s
}

func wireSize(b []byte, n int) error {
	if len(b) != n {
		return fmt.Errorf("want %d bytes, got %d", n, len(b))
	}
	return nil
}

func wireInt8(b []byte) (int64, error) {
	if b == nil {
		return 0, nil
	}
	if err := wireSize(b, 8); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func wireInt4(b []byte) (int, error) {
	if b == nil {
		return 0, nil
	}
	if err := wireSize(b, 4); err != nil {
		return 0, err
	}
	return int(int32(binary.BigEndian.Uint32(b))), nil
}

func wireInt2(b []byte) (int, error) {
	if b == nil {
		return 0, nil
	}
	if err := wireSize(b, 2); err != nil {
		return 0, err
	}
	return int(int16(binary.BigEndian.Uint16(b))), nil
}

func wireFloat8(b []byte) (float64, error) {
	if b == nil {
		return 0, nil
	}
	if err := wireSize(b, 8); err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
}

func wireBool(b []byte) (bool, error) {
	if b == nil {
		return false, nil
	}
	if err := wireSize(b, 1); err != nil {
		return false, err
	}
	return b[0] != 0, nil
}

// pgEpochUnix is 2000-01-01 00:00:00 UTC, PostgreSQL's epoch for binary
// timestamps (microseconds) and dates (days), in Unix seconds.
const pgEpochUnix = 946_684_800

// wireTime decodes a TIMESTAMPTZ as UTC. NULL and ±infinity are the zero
// time, as on the Scan path.
func wireTime(b []byte) (time.Time, error) {
	if b == nil {
		return time.Time{}, nil
	}
	if err := wireSize(b, 8); err != nil {
		return time.Time{}, err
	}
	us := int64(binary.BigEndian.Uint64(b))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return time.Time{}, nil
	}
	sec, frac := us/1_000_000, us%1_000_000
	if frac < 0 {
		sec, frac = sec-1, frac+1_000_000
	}
	return time.Unix(pgEpochUnix+sec, frac*1000).UTC(), nil
}

// wireDate decodes a DATE as UTC midnight. NULL and ±infinity are the zero
// time, as on the Scan path.
func wireDate(b []byte) (time.Time, error) {
	if b == nil {
		return time.Time{}, nil
	}
	if err := wireSize(b, 4); err != nil {
		return time.Time{}, err
	}
	days := int32(binary.BigEndian.Uint32(b))
	if days == math.MaxInt32 || days == math.MinInt32 {
		return time.Time{}, nil
	}
	return time.Date(2000, 1, 1+int(days), 0, 0, 0, 0, time.UTC), nil
}

// wireJSONB strips the version byte of a binary JSONB value.
func wireJSONB(b []byte) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	if len(b) == 0 || b[0] != 1 {
		return nil, fmt.Errorf("unknown jsonb format version")
	}
	return b[1:], nil
}
