package imports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode"

	"github.com/tidings-crm/tidings/store"
)

// cdnow imports the CDNOW purchase log: "customer_id YYYYMMDD quantity
// dollars" per line (the master file, whose first line may be a header), or
// "customer_id sample_id YYYYMMDD quantity dollars" (the 1/10 sample). The
// layout is fixed by the first data line.
//
// The log has no order ids, so each purchase gets a deterministic one,
// cdnow-<customer>-<YYYYMMDD>-<n>, n counting that customer's purchases on
// that day in file order; re-importing the same file yields the same ids.
func (w *purchaseWriter) cdnow(r io.Reader) error {
	lr := &lineReader{br: bufio.NewReaderSize(r, maxLineBytes)}
	seq := map[string]int{} // "customer date" -> purchases seen; ~70k entries for CDNOW
	width, seen := 0, false
	for {
		text, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, errLongLine) {
			w.sum.Read++
			w.sum.reject(lr.line, "the line is longer than %d bytes; a CDNOW line is customer_id YYYYMMDD quantity dollars", maxLineBytes)
			continue
		}
		if err != nil {
			return fmt.Errorf("imports: read purchases line %d: %w", lr.line, err)
		}
		f, at := fieldsAt(text)
		if len(f) == 0 {
			continue
		}
		first := !seen
		seen = true
		if first && !isDigits(f[0]) {
			continue // the header line
		}
		w.sum.Read++
		if width == 0 {
			if len(f) != 4 && len(f) != 5 {
				w.sum.reject(lr.line, "a CDNOW line has 4 fields (customer_id YYYYMMDD quantity dollars) or 5 with a sample id; this one has %d", len(f))
				continue
			}
			width = len(f)
		}
		p, err := cdnowRow(f, width)
		if err != nil {
			w.sum.rejectLine(lr.line, at, err)
			continue
		}
		key := p.CustomerExternalID + " " + f[width-3]
		seq[key]++
		p.OrderID = fmt.Sprintf("cdnow-%s-%s-%d", p.CustomerExternalID, f[width-3], seq[key])
		if err := w.add(p, lr.line); err != nil {
			return err
		}
	}
}

// cdnowField names the fields of a CDNOW line of width fields, for
// rejections.
func cdnowField(i, width int) string {
	names := []string{"customer_id", "date", "quantity", "dollars"}
	if width == 5 {
		names = []string{"customer_id", "sample_id", "date", "quantity", "dollars"}
	}
	return names[i]
}

func cdnowRow(f []string, width int) (store.PurchaseInput, error) {
	var p store.PurchaseInput
	if len(f) != width {
		return p, fmt.Errorf("the line has %d fields but the file's lines have %d; write customer_id YYYYMMDD quantity dollars", len(f), width)
	}
	bad := func(i int, err error) error { return &cellError{index: i, field: cdnowField(i, width), err: err} }
	if !isDigits(f[0]) {
		return p, bad(0, fmt.Errorf("customer id %q is not a number", excerpt(f[0])))
	}
	day, err := time.Parse("20060102", f[width-3])
	if err != nil {
		return p, bad(width-3, fmt.Errorf("date %q is not a date; write YYYYMMDD, e.g. 19970101", excerpt(f[width-3])))
	}
	if p.Quantity, err = parseQuantity(f[width-2]); err != nil {
		return p, bad(width-2, err)
	}
	if p.AmountCents, err = parseCents(f[width-1]); err != nil {
		return p, bad(width-1, err)
	}
	p.CustomerExternalID = f[0]
	p.Currency = "USD"
	p.OccurredAt = day
	return p, nil
}

// fieldsAt splits a line at white space like strings.Fields, and returns
// each field's 1-based byte column too.
func fieldsAt(line string) ([]string, []int) {
	var (
		fields []string
		at     []int
	)
	start := -1
	for i, r := range line + " " {
		switch {
		case unicode.IsSpace(r) && start >= 0:
			fields, at = append(fields, line[start:i]), append(at, start+1)
			start = -1
		case !unicode.IsSpace(r) && start < 0:
			start = i
		}
	}
	return fields, at
}

// rejectLine reports a line of a whitespace-separated file, at the bad
// field's column when err is a cellError; at[i] is field i's column.
func (s *Summary) rejectLine(line int, at []int, err error) {
	r := Rejection{Line: line, Reason: err.Error()}
	var ce *cellError
	if errors.As(err, &ce) {
		r.Column, r.Field = at[ce.index], ce.field
	}
	s.add(r)
}

// maxLineBytes bounds a line of a whitespace-separated file: a longer one is
// rejected (and skipped to its end), not read into memory.
const maxLineBytes = 64 << 10

var errLongLine = errors.New("line too long")

// lineReader reads a file line by line, counting lines, and skips a line
// longer than maxLineBytes whole (errLongLine), so one bad line costs that
// line only.
type lineReader struct {
	br   *bufio.Reader
	line int
}

func (l *lineReader) next() (string, error) {
	b, err := l.br.ReadSlice('\n')
	if len(b) == 0 && errors.Is(err, io.EOF) {
		return "", io.EOF
	}
	l.line++
	if errors.Is(err, bufio.ErrBufferFull) || len(b) > maxLineBytes {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = l.br.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return "", errLongLine
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return string(b), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
