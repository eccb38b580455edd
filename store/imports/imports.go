// Package imports streams customer and purchase files into the store: CSV
// with a header row, and the CDNOW purchase log format. Files are read row by
// row and written in batches, so memory stays flat whatever the file size;
// re-importing the same file changes nothing. Bad rows are rejected with
// their line number and what to write instead, and the good rows are
// imported.
package imports

import (
	"fmt"
	"io"
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
	Line   int    // 1-based line in the file
	Reason string // what is wrong and what to write instead
}

// String formats the rejection as "line 7: reason".
func (r Rejection) String() string { return fmt.Sprintf("line %d: %s", r.Line, r.Reason) }

func (s *Summary) reject(line int, format string, args ...any) {
	s.RejectedCount++
	if len(s.Rejected) < MaxRejectionsKept {
		s.Rejected = append(s.Rejected, Rejection{Line: line, Reason: fmt.Sprintf(format, args...)})
	}
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
