package imports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tidings-crm/tidings/store"
)

// Purchases imports purchases from a CSV file with a header row (order_id,
// customer_id, amount, currency, quantity, occurred_at, items) or from a
// CDNOW purchase log (whitespace-separated "customer_id YYYYMMDD quantity
// dollars", or the sample's "customer_id sample_id YYYYMMDD quantity
// dollars"), detected from the first line. Unknown customers are created.
// It returns an error only when the file cannot be read as a whole; bad rows
// are reported in the Summary.
func Purchases(ctx context.Context, st *store.Store, r io.Reader, opts Options) (Summary, error) {
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 64<<10)
	first, err := firstLine(br)
	if err != nil {
		return Summary{}, fmt.Errorf("imports: read purchases: %w", err)
	}
	w := &purchaseWriter{ctx: ctx, st: st, opts: opts, cr: cr, batch: make([]store.PurchaseInput, 0, opts.batchSize()),
		stats: analyzer{st: st}}
	if bytes.ContainsRune(first, ',') {
		err = w.csv(br)
	} else {
		err = w.cdnow(br)
	}
	if err == nil {
		err = w.flush()
	}
	return w.sum, err
}

// firstLine peeks at the first non-blank line without consuming it.
func firstLine(br *bufio.Reader) ([]byte, error) {
	buf, err := br.Peek(br.Size())
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	for _, line := range bytes.Split(buf, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			return line, nil
		}
	}
	return nil, nil
}

// purchaseWriter batches validated rows into the store.
type purchaseWriter struct {
	ctx   context.Context
	st    *store.Store
	opts  Options
	cr    *countingReader
	sum   Summary
	batch []store.PurchaseInput
	lines []int // lines[i] is the line of batch[i]
	stats analyzer
}

func (w *purchaseWriter) add(p store.PurchaseInput, line int) error {
	w.batch, w.lines = append(w.batch, p), append(w.lines, line)
	if len(w.batch) >= w.opts.batchSize() {
		return w.flush()
	}
	return nil
}

func (w *purchaseWriter) flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	res, refused, err := w.st.UpsertPurchasesEach(w.ctx, w.batch)
	if err != nil {
		return fmt.Errorf("imports: %w", err)
	}
	w.sum.Inserted += res.Inserted
	w.sum.Updated += res.Updated
	w.sum.Unchanged += res.Unchanged
	w.sum.rejectRefused(refused, w.lines)
	w.batch, w.lines = w.batch[:0], w.lines[:0]
	w.opts.progress(w.cr)
	return w.stats.wrote(w.ctx, w.sum.Inserted+w.sum.Updated)
}

// csv imports the CSV purchase format.
func (w *purchaseWriter) csv(r io.Reader) error {
	rd := csv.NewReader(r)
	rd.FieldsPerRecord = -1
	rd.ReuseRecord = true
	header, err := rd.Read()
	if err != nil {
		return fmt.Errorf("imports: read purchases header: %w", err)
	}
	if err := checkHeader(header); err != nil {
		return fmt.Errorf("imports: purchases header: %w", err)
	}
	cols := normaliseHeader(header)
	for _, need := range []string{"order_id", "customer_id", "amount", "occurred_at"} {
		if indexOf(cols, need) < 0 {
			return fmt.Errorf("imports: purchases header %q has no %s column; the first row must name the columns: "+
				"order_id,customer_id,amount,currency,quantity,occurred_at,items", strings.Join(header, ","), need)
		}
	}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := rd.FieldPos(0)
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			w.sum.Read++
			w.sum.reject(perr.Line, "the row is not valid CSV (%v); quote cells that contain commas or quotes", perr.Err)
			continue
		}
		if err != nil {
			return fmt.Errorf("imports: read purchases: %w", err)
		}
		w.sum.Read++
		p, err := purchaseRow(cols, rec)
		if err != nil {
			w.sum.rejectRecord(rd, err)
			continue
		}
		if err := w.add(p, line); err != nil {
			return err
		}
	}
}

func purchaseRow(cols, rec []string) (store.PurchaseInput, error) {
	var p store.PurchaseInput
	if len(rec) != len(cols) {
		return p, fmt.Errorf("the row has %d cells but the header has %d; every row needs one cell per column", len(rec), len(cols))
	}
	for i, col := range cols {
		v := strings.TrimSpace(rec[i])
		if err := purchaseCell(&p, i, col, v); err != nil {
			return p, err
		}
	}
	if p.OrderID == "" {
		return p, errors.New("order_id is empty; every purchase needs the shop's order id")
	}
	if p.CustomerExternalID == "" {
		return p, errors.New("customer_id is empty; write the customer's external id")
	}
	return p, nil
}

// purchaseCell reads the cell at index i, of column col, into p.
func purchaseCell(p *store.PurchaseInput, i int, col, v string) error {
	if !purchaseColumns[col] {
		return nil // another column: not imported
	}
	if err := checkCell(i, col, v); err != nil {
		return err
	}
	var err error
	switch col {
	case "order_id":
		p.OrderID = v
	case "customer_id":
		p.CustomerExternalID = v
	case "amount":
		p.AmountCents, err = parseCents(v)
	case "currency":
		if v != "" {
			p.Currency, err = parseCurrency(v)
		}
	case "quantity":
		if v != "" {
			p.Quantity, err = parseQuantity(v)
		}
	case "occurred_at":
		p.OccurredAt, err = parseOccurredAt(v)
	case "items":
		if v != "" {
			p.Items, err = parseItems(v)
		}
	}
	if err != nil {
		return &cellError{index: i, field: col, err: err}
	}
	return nil
}

// purchaseColumns are the CSV columns a purchase is read from.
var purchaseColumns = map[string]bool{
	"order_id": true, "customer_id": true, "amount": true, "currency": true, "quantity": true,
	"occurred_at": true, "items": true,
}
