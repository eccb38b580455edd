package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// wireRow decodes a customer row straight from PostgreSQL's binary result
// format (pgx's RawValues), for the column types of the customers table.
// Decoding the few known shapes by hand costs a fraction of pgx's generic
// Scan, which is most of the Go side of an audience stream. A page whose
// columns come in another type or format (a changed schema, the simple
// protocol) falls back to Scan: bind says which.
type wireRow struct {
	c          *Customer
	decs       []wireColumn
	names      []string
	tags, attr []byte
	strs       map[string]string // interned values of the low-cardinality text columns
}

// wireColumn is how one customers column arrives and is decoded.
type wireColumn struct {
	oid    uint32
	decode func(w *wireRow, b []byte) error
}

// wireColumns maps each customers column to its PostgreSQL type and decoder.
// NULL (a nil b) decodes to the zero value, as the Scan path does.
var wireColumns = map[string]wireColumn{
	"id":                     {pgtype.Int8OID, func(w *wireRow, b []byte) (err error) { w.c.ID, err = wireInt8(b); return }},
	"external_id":            {pgtype.TextOID, func(w *wireRow, b []byte) error { w.c.ExternalID = string(b); return nil }},
	"email":                  {pgtype.TextOID, func(w *wireRow, b []byte) error { w.c.Email = string(b); return nil }},
	"phone":                  {pgtype.TextOID, func(w *wireRow, b []byte) error { w.c.Phone = string(b); return nil }},
	"first_name":             {pgtype.TextOID, func(w *wireRow, b []byte) error { w.c.FirstName = string(b); return nil }},
	"last_name":              {pgtype.TextOID, func(w *wireRow, b []byte) error { w.c.LastName = string(b); return nil }},
	"locale":                 {pgtype.TextOID, func(w *wireRow, b []byte) error { w.c.Locale = w.intern(b); return nil }},
	"time_zone":              {pgtype.TextOID, func(w *wireRow, b []byte) error { w.c.TimeZone = w.intern(b); return nil }},
	"birthday":               {pgtype.DateOID, func(w *wireRow, b []byte) (err error) { w.c.Birthday, err = wireDate(b); return }},
	"email_consent":          {pgtype.BoolOID, func(w *wireRow, b []byte) (err error) { w.c.EmailConsent, err = wireBool(b); return }},
	"sms_consent":            {pgtype.BoolOID, func(w *wireRow, b []byte) (err error) { w.c.SMSConsent, err = wireBool(b); return }},
	"tags":                   {pgtype.JSONBOID, func(w *wireRow, b []byte) (err error) { w.tags, err = wireJSONB(b); return }},
	"attributes":             {pgtype.JSONBOID, func(w *wireRow, b []byte) (err error) { w.attr, err = wireJSONB(b); return }},
	"orders_count":           {pgtype.Int4OID, func(w *wireRow, b []byte) (err error) { w.c.OrdersCount, err = wireInt4(b); return }},
	"total_spent_cents":      {pgtype.Int8OID, func(w *wireRow, b []byte) (err error) { w.c.TotalSpentCents, err = wireInt8(b); return }},
	"first_purchase_at":      {pgtype.TimestamptzOID, func(w *wireRow, b []byte) (err error) { w.c.FirstPurchaseAt, err = wireTime(b); return }},
	"last_purchase_at":       {pgtype.TimestamptzOID, func(w *wireRow, b []byte) (err error) { w.c.LastPurchaseAt, err = wireTime(b); return }},
	"avg_days_between":       {pgtype.Float8OID, func(w *wireRow, b []byte) (err error) { w.c.AvgDaysBetween, err = wireFloat8(b); return }},
	"rfm_r":                  {pgtype.Int2OID, func(w *wireRow, b []byte) (err error) { w.c.RFMR, err = wireInt2(b); return }},
	"rfm_f":                  {pgtype.Int2OID, func(w *wireRow, b []byte) (err error) { w.c.RFMF, err = wireInt2(b); return }},
	"rfm_m":                  {pgtype.Int2OID, func(w *wireRow, b []byte) (err error) { w.c.RFMM, err = wireInt2(b); return }},
	"rfm_segment":            {pgtype.TextOID, func(w *wireRow, b []byte) error { w.c.RFMSegment = w.intern(b); return nil }},
	"lifecycle":              {pgtype.TextOID, func(w *wireRow, b []byte) error { w.c.Lifecycle = w.intern(b); return nil }},
	"p_alive":                {pgtype.Float8OID, func(w *wireRow, b []byte) (err error) { w.c.PAlive, err = wireFloat8(b); return }},
	"expected_purchases_90d": {pgtype.Float8OID, func(w *wireRow, b []byte) (err error) { w.c.ExpectedPurchases90d, err = wireFloat8(b); return }},
	"clv":                    {pgtype.Float8OID, func(w *wireRow, b []byte) (err error) { w.c.CLV, err = wireFloat8(b); return }},
	"insights_at":            {pgtype.TimestamptzOID, func(w *wireRow, b []byte) (err error) { w.c.InsightsAt, err = wireTime(b); return }},
	"created_at":             {pgtype.TimestamptzOID, func(w *wireRow, b []byte) (err error) { w.c.CreatedAt, err = wireTime(b); return }},
	"updated_at":             {pgtype.TimestamptzOID, func(w *wireRow, b []byte) (err error) { w.c.UpdatedAt, err = wireTime(b); return }},
}

// bind prepares decoding of a page whose columns are names, as described
// by fds, and reports whether every column comes in a type and format
// wireColumns decodes; false means the page must go through Scan.
func (w *wireRow) bind(names []string, fds []pgconn.FieldDescription) bool {
	if len(fds) != len(names) {
		return false
	}
	w.decs, w.names = w.decs[:0], names
	for i, fd := range fds {
		col, ok := wireColumns[names[i]]
		// Text and JSON read the same in both formats (JSONB's binary
		// form is a version byte and the text, which wireJSONB checks).
		textual := col.oid == pgtype.TextOID || col.oid == pgtype.JSONBOID
		if !ok || fd.DataTypeOID != col.oid || (fd.Format != pgtype.BinaryFormatCode && !textual) {
			return false
		}
		if col.oid == pgtype.JSONBOID && fd.Format != pgtype.BinaryFormatCode {
			col.decode = textJSON(names[i])
		}
		w.decs = append(w.decs, col)
	}
	return true
}

// textJSON decodes a JSON column that arrived in text format.
func textJSON(name string) func(w *wireRow, b []byte) error {
	if name == "tags" {
		return func(w *wireRow, b []byte) error { w.tags = b; return nil }
	}
	return func(w *wireRow, b []byte) error { w.attr = b; return nil }
}

// decode fills the Customer from one row's raw values; columns the page
// does not select keep their zero value (JSON ones included).
func (w *wireRow) decode(vals [][]byte) error {
	if len(vals) != len(w.decs) {
		return fmt.Errorf("decode customer row: %d values for %d columns", len(vals), len(w.decs))
	}
	w.tags, w.attr = nil, nil
	for i, col := range w.decs {
		if err := col.decode(w, vals[i]); err != nil {
			return fmt.Errorf("decode column %s of customer %d: %w", w.names[i], w.c.ID, err)
		}
	}
	return decodeJSONColumns(w.c, w.tags, w.attr)
}

// maxInterned bounds the interned strings of one stream, so a column of
// unique values (garbage in a time zone column) cannot grow it for ever.
const maxInterned = 4096

// intern returns b as a string, reusing one string per distinct value of
// the columns with few values (segment, lifecycle, locale, time zone).
func (w *wireRow) intern(b []byte) string {
	if s, ok := w.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if w.strs == nil {
		w.strs = map[string]string{}
	}
	if len(w.strs) < maxInterned {
		w.strs[s] = s
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
