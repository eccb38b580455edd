package imports

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

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
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	seq := map[string]int{} // "customer date" -> purchases seen; ~70k entries for CDNOW
	width, line := 0, 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if width == 0 && !isDigits(f[0]) {
			continue // the header line
		}
		w.sum.Read++
		if width == 0 {
			if len(f) != 4 && len(f) != 5 {
				w.sum.reject(line, "a CDNOW line has 4 fields (customer_id YYYYMMDD quantity dollars) or 5 with a sample id; this one has %d", len(f))
				continue
			}
			width = len(f)
		}
		p, err := cdnowRow(f, width)
		if err != nil {
			w.sum.reject(line, "%v", err)
			continue
		}
		key := p.CustomerExternalID + " " + f[width-3]
		seq[key]++
		p.OrderID = fmt.Sprintf("cdnow-%s-%s-%d", p.CustomerExternalID, f[width-3], seq[key])
		if err := w.add(p); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("imports: read purchases line %d: %w", line+1, err)
	}
	return nil
}

func cdnowRow(f []string, width int) (store.PurchaseInput, error) {
	var p store.PurchaseInput
	if len(f) != width {
		return p, fmt.Errorf("the line has %d fields but the file's lines have %d; write customer_id YYYYMMDD quantity dollars", len(f), width)
	}
	if !isDigits(f[0]) {
		return p, fmt.Errorf("customer id %q is not a number", f[0])
	}
	day, err := time.Parse("20060102", f[width-3])
	if err != nil {
		return p, fmt.Errorf("date %q is not a date; write YYYYMMDD, e.g. 19970101", f[width-3])
	}
	if p.Quantity, err = parseQuantity(f[width-2]); err != nil {
		return p, err
	}
	if p.AmountCents, err = parseCents(f[width-1]); err != nil {
		return p, err
	}
	p.CustomerExternalID = f[0]
	p.Currency = "USD"
	p.OccurredAt = day
	return p, nil
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
