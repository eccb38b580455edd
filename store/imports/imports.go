// Package imports streams customer and purchase files into the store: CSV
// with a header row, and the CDNOW purchase log format. Files are read row by
// row and written in batches, so memory stays flat whatever the file size;
// re-importing the same file changes nothing. Bad rows are rejected with
// their line number and what to write instead, and the good rows are
// imported.
package imports

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"github.com/tidings-crm/tidings/store"
)

// DefaultBatchSize is the number of rows written per transaction when
// Options.BatchSize is zero.
const DefaultBatchSize = 1000

// MaxRejectionsKept caps Summary.Rejected; RejectedCount still counts all.
const MaxRejectionsKept = 1000

// Options tune an import.
type Options struct {
	BatchSize int                   // rows per transaction (default 1,000)
	Progress  func(bytesRead int64) // called after each batch, for a progress bar
}

// Summary says what an import did.
type Summary struct {
	Read          int // data rows read (header excluded)
	Inserted      int
	Updated       int
	Unchanged     int
	Rejected      []Rejection // the first MaxRejectionsKept rejected rows
	RejectedCount int         // every rejected row
}

// Rejection is one row that was not imported, and why.
type Rejection struct {
	Line   int    // 1-based line in the file (of the bad cell, when one is at fault)
	Column int    // 1-based byte column of the bad cell in its line; 0 when the whole row is at fault
	Field  string // the bad cell's column name (CSV) or field (CDNOW); "" when the whole row is at fault
	Reason string // what is wrong and what to write instead
}

// String formats the rejection as "line 7: reason", or "line 7:12: reason"
// with the bad cell's column.
func (r Rejection) String() string {
	if r.Column > 0 {
		return fmt.Sprintf("line %d:%d: %s", r.Line, r.Column, r.Reason)
	}
	return fmt.Sprintf("line %d: %s", r.Line, r.Reason)
}

func (s *Summary) reject(line int, format string, args ...any) {
	s.add(Rejection{Line: line, Reason: fmt.Sprintf(format, args...)})
}

func (s *Summary) add(r Rejection) {
	s.RejectedCount++
	if len(s.Rejected) < MaxRejectionsKept {
		s.Rejected = append(s.Rejected, r)
	}
}

// rejectRecord reports the CSV record rd read last, rejected for err: at the
// record's first line, or at the bad cell's line and column when err is a
// cellError.
func (s *Summary) rejectRecord(rd *csv.Reader, err error) {
	r := Rejection{Reason: err.Error()}
	var ce *cellError
	if errors.As(err, &ce) {
		r.Line, r.Column = rd.FieldPos(ce.index)
		r.Field = ce.field
	} else {
		r.Line, _ = rd.FieldPos(0)
	}
	s.add(r)
}

// rejectRefused reports the rows of a batch the database refused; lines[i]
// is the line of the batch's row i.
func (s *Summary) rejectRefused(refused []store.RowError, lines []int) {
	for _, r := range refused {
		s.reject(lines[r.Index], "the database refused the row: %v; the other rows are imported", r.Err)
	}
}

// analyzeFrom is how many rows an import writes before it first refreshes
// the planner's statistics (store.Analyze); it does again each time the
// rows written double, so the work stays linear in the file's size.
const analyzeFrom = 20000

// analyzer calls store.Analyze as an import's written rows double.
type analyzer struct {
	st   *store.Store
	next int
}

// wrote counts rows written and analyzes when they pass the next mark.
func (a *analyzer) wrote(ctx context.Context, total int) error {
	if a.next == 0 {
		a.next = analyzeFrom
	}
	if total < a.next {
		return nil
	}
	for a.next <= total {
		a.next *= 2
	}
	return a.st.Analyze(ctx)
}

func (o Options) batchSize() int {
	if o.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return o.BatchSize
}

// countingReader counts the bytes read through it, for progress reports.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (o Options) progress(c *countingReader) {
	if o.Progress != nil {
		o.Progress(c.n)
	}
}
