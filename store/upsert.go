package store

import (
	"bytes"
	"encoding/json"
	"strings"
)

// UpsertResult counts what an upsert did with each input row. An input whose
// key appears again later in the same call is counted once per occurrence.
type UpsertResult struct {
	Inserted  int // new rows
	Updated   int // existing rows whose stored values changed
	Unchanged int // existing rows the input matched exactly; nothing was written
}

// UpsertOutcome is what an upsert did to one input row.
type UpsertOutcome string

// The outcomes of an upsert, per input row.
const (
	OutcomeCreated   UpsertOutcome = "created"   // a new row
	OutcomeUpdated   UpsertOutcome = "updated"   // stored values changed
	OutcomeUnchanged UpsertOutcome = "unchanged" // the input matched; nothing was written
)

// Add accumulates o into r, for callers that upsert in several batches.
func (r *UpsertResult) Add(o UpsertResult) {
	r.Inserted += o.Inserted
	r.Updated += o.Updated
	r.Unchanged += o.Unchanged
}

// Statement sizes: both PostgreSQL (65,535) and SQLite (32,766) cap the
// number of bound parameters per statement.
const (
	maxRowsPerInsert = 500
	maxInList        = 1000
)

// placeholders returns "(?, ?, ?)" for n columns; it depends only on n, never
// on input.
func placeholders(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// valuesCTE is a WITH clause naming n rows of bound values v(names...), for
// a statement that updates or deletes by them. PostgreSQL needs the types
// spelled out (a VALUES list has no column types to infer them from): the
// first row casts its values to pgTypes, and the other rows follow it.
func valuesCTE(d Dialect, names, pgTypes []string, n int) string {
	first := placeholders(len(names))
	if d == Postgres {
		casts := make([]string, len(pgTypes))
		for i, t := range pgTypes {
			casts[i] = "?::" + t
		}
		first = "(" + strings.Join(casts, ", ") + ")"
	}
	rows := first
	if n > 1 {
		rows += ", " + valuesList(n-1, len(names))
	}
	return `WITH v (` + strings.Join(names, ", ") + `) AS (VALUES ` + rows + `)`
}

// valuesList returns rows copies of a row of cols placeholders, comma
// separated, for a multi-row VALUES clause.
func valuesList(rows, cols int) string {
	row := placeholders(cols)
	var b strings.Builder
	b.Grow(rows * (len(row) + 2))
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// chunks splits n items into [lo, hi) ranges of at most size items.
func chunks(n, size int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}

// canonicalJSON re-encodes a JSON value with sorted object keys and no
// spacing, so values that mean the same compare equal whatever produced them
// (PostgreSQL's jsonb adds spaces, Go's encoder sorts keys).
func canonicalJSON(raw []byte, empty string) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return empty, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

func marshalCanonical(v any, empty string) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return canonicalJSON(raw, empty)
}
