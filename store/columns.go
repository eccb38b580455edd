package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidings-crm/tidings/customer"
)

// The customers columns the store reads come from the registry
// (customer.Fields): the SELECT list, the scan targets of database/sql and
// pgx, and the binary decoders of a PostgreSQL stream are all made from it
// and from the Customer field whose db tag names each column.

// column is one customers column bound to its Customer field.
type column struct {
	name  string
	typ   customer.Type
	few   bool  // few distinct values: interned by the binary decoder
	index []int // the Customer field
}

// customerSchema is the registry's columns as the store reads them.
type customerSchema struct {
	cols  []column
	names []string // column names, table order
	list  string   // "id, external_id, ...": the full SELECT list
}

// schema binds every registry column to its Customer field, once. A column
// without a field of its type is a programming error the registry's test
// (go test ./customer) names; here it stops the first read.
var schema = sync.OnceValue(func() *customerSchema {
	s, err := bindSchema(reflect.TypeFor[Customer]())
	if err != nil {
		panic(err)
	}
	return s
})

func bindSchema(t reflect.Type) (*customerSchema, error) {
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag := f.Tag.Get("db"); tag != "" && tag != "-" {
			fields[tag] = f
		}
	}
	s := &customerSchema{}
	for _, f := range customer.Fields {
		if f.Column == "" {
			continue
		}
		sf, ok := fields[f.Column]
		if !ok {
			return nil, fmt.Errorf("store: column %s (customer.Fields) has no field in store.Customer: add one of type %s tagged db:%q",
				f.Column, f.Type.GoType(), f.Column)
		}
		if sf.Type != f.Type.GoType() {
			return nil, fmt.Errorf("store: Customer.%s (column %s) is a %s; customer.Fields says %s, which reads into %s",
				sf.Name, f.Column, sf.Type, f.Type, f.Type.GoType())
		}
		delete(fields, f.Column)
		s.cols = append(s.cols, column{name: f.Column, typ: f.Type, few: f.Few, index: sf.Index})
		s.names = append(s.names, f.Column)
	}
	for tag, sf := range fields {
		return nil, fmt.Errorf("store: Customer.%s (db:%q) is not a column of customer.Fields: add it there", sf.Name, tag)
	}
	s.list = strings.Join(s.names, ", ")
	return s, nil
}

// customerColumns is the SELECT list of every customers column, in the
// order a full customerRow reads them.
func customerColumns() string { return schema().list }

// projection returns the positions in the schema of id and the requested
// columns, in table order; nil columns select all.
func projection(columns []string) ([]int, error) {
	if columns == nil {
		return nil, nil
	}
	s := schema()
	want := map[string]bool{"id": true}
	for _, c := range columns {
		if !slices.Contains(s.names, c) {
			return nil, fmt.Errorf("store: stream customers: no column %q; the columns are %s", c, s.list)
		}
		want[c] = true
	}
	var idx []int
	for i, n := range s.names {
		if want[n] {
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// columnList is the SELECT list of the selected positions (all for nil).
func columnList(idx []int) string {
	s := schema()
	if idx == nil {
		return s.list
	}
	names := make([]string, len(idx))
	for i, k := range idx {
		names[i] = s.names[k]
	}
	return strings.Join(names, ", ")
}

// customerRow reads rows of selected customers columns into one Customer,
// overwritten row after row: through Scan (database/sql, or pgx when a
// page cannot be decoded by hand) or from PostgreSQL's binary values
// (decode). Its targets are bound to the Customer once, so a stream reads
// every row without allocating targets.
type customerRow struct {
	c     *Customer
	cols  []boundColumn
	dest  []any             // Scan targets, in SELECT order
	decs  []wireDecoder     // the binary decoders of the current page (bind)
	jsons []*jsonColumn     // JSON columns, decoded once the row is read
	strs  map[string]string // interned values of the columns with few values
}

// boundColumn is a column and the Customer field it reads into.
type boundColumn struct {
	*column
	ptr any // *string, *int, *int64, *float64, *bool, *time.Time or *jsonColumn
}

// newCustomerRow binds the columns at positions idx (all for nil) to c.
func newCustomerRow(c *Customer, idx []int) *customerRow {
	s := schema()
	if idx == nil {
		idx = make([]int, len(s.cols))
		for i := range idx {
			idx[i] = i
		}
	}
	r := &customerRow{c: c}
	v := reflect.ValueOf(c).Elem()
	for _, k := range idx {
		col := &s.cols[k]
		ptr := v.FieldByIndex(col.index).Addr().Interface()
		if col.typ == customer.List || col.typ == customer.Map {
			j := &jsonColumn{name: col.name, field: ptr, customer: c}
			r.jsons = append(r.jsons, j)
			ptr = j
		}
		r.cols = append(r.cols, boundColumn{column: col, ptr: ptr})
		r.dest = append(r.dest, scanTarget(col.typ, ptr))
	}
	return r
}

type scanner interface{ Scan(dest ...any) error }

// scan reads one row through Scan (database/sql rows, pgx rows).
func (r *customerRow) scan(row scanner) error {
	if err := row.Scan(r.dest...); err != nil {
		return err
	}
	return r.decodeJSON()
}

// decodeJSON decodes the row's JSON columns into the Customer.
func (r *customerRow) decodeJSON() error {
	for _, j := range r.jsons {
		if err := j.decode(); err != nil {
			return err
		}
	}
	return nil
}

// CustomerColumns returns every customers column, in the order of
// CustomerValues.
func CustomerColumns() []string { return slices.Clone(schema().names) }

// CustomerValues returns c's value of every customers column, in
// CustomerColumns order, as dialect d stores it: NULL for a zero time,
// 'YYYY-MM-DD' text for a SQLite date, JSON text for lists and maps. Bulk
// loaders (the benchmarks' synthetic data) write rows with it.
func CustomerValues(d Dialect, c *Customer) ([]any, error) {
	s := schema()
	v := reflect.ValueOf(c).Elem()
	out := make([]any, len(s.cols))
	for i := range s.cols {
		col := &s.cols[i]
		f := v.FieldByIndex(col.index)
		switch col.typ {
		case customer.Date:
			t := f.Interface().(time.Time)
			switch {
			case t.IsZero():
				out[i] = nil
			case d == SQLite:
				out[i] = t.Format(time.DateOnly)
			default:
				out[i] = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
			}
		case customer.Time:
			out[i] = timeArg(f.Interface().(time.Time))
		case customer.List, customer.Map:
			empty := "[]"
			if col.typ == customer.Map {
				empty = "{}"
			}
			if f.Len() == 0 {
				out[i] = empty
				continue
			}
			b, err := json.Marshal(f.Interface())
			if err != nil {
				return nil, fmt.Errorf("store: encode %s of customer %d: %w", col.name, c.ID, err)
			}
			out[i] = string(b)
		default:
			out[i] = f.Interface()
		}
	}
	return out, nil
}
