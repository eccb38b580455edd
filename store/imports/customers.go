package imports

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tidings-crm/tidings/customer"
	"github.com/tidings-crm/tidings/store"
)

// customerColumns are the CSV columns with a meaning, the registry's import
// columns (setCustomerField reads each); any other column becomes a custom
// attribute.
var customerColumns = func() map[string]bool {
	cols := map[string]bool{}
	for _, c := range customer.ImportColumns() {
		cols[c] = true
	}
	return cols
}()

// Customers imports a customers CSV (header row first; see the package
// documentation of the columns). An empty cell leaves the stored value as it
// is. It returns an error only when the file cannot be read as a whole (no
// header, I/O, database); bad rows are reported in the Summary.
func Customers(ctx context.Context, st *store.Store, r io.Reader, opts Options) (Summary, error) {
	var sum Summary
	cr := &countingReader{r: r}
	rd := csv.NewReader(cr)
	rd.FieldsPerRecord = -1
	rd.ReuseRecord = true
	header, err := rd.Read()
	if err != nil {
		return sum, fmt.Errorf("imports: read customers header: %w", err)
	}
	if err := checkHeader(header); err != nil {
		return sum, fmt.Errorf("imports: customers header: %w", err)
	}
	cols := normaliseHeader(header)
	if indexOf(cols, "external_id") < 0 {
		return sum, fmt.Errorf("imports: customers header %q has no external_id column; "+
			"the first row must name the columns, e.g. external_id,email,first_name", strings.Join(header, ","))
	}
	batch := make([]store.CustomerInput, 0, opts.batchSize())
	lines := make([]int, 0, opts.batchSize()) // lines[i] is the line of batch[i]
	stats := analyzer{st: st}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, refused, err := st.UpsertCustomersEach(ctx, batch)
		if err != nil {
			return fmt.Errorf("imports: %w", err)
		}
		sum.Inserted += res.Inserted
		sum.Updated += res.Updated
		sum.Unchanged += res.Unchanged
		sum.rejectRefused(refused, lines)
		batch, lines = batch[:0], lines[:0]
		opts.progress(cr)
		return stats.wrote(ctx, sum.Inserted+sum.Updated)
	}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := rd.FieldPos(0)
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			sum.Read++
			sum.reject(perr.Line, "the row is not valid CSV (%v); quote cells that contain commas or quotes", perr.Err)
			continue
		}
		if err != nil {
			return sum, fmt.Errorf("imports: read customers: %w", err)
		}
		sum.Read++
		in, err := customerRow(cols, rec)
		if err != nil {
			sum.rejectRecord(rd, err)
			continue
		}
		batch, lines = append(batch, in), append(lines, line)
		if len(batch) >= opts.batchSize() {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	return sum, flush()
}

func normaliseHeader(header []string) []string {
	cols := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimPrefix(h, "\ufeff")
		cols[i] = strings.ToLower(strings.TrimSpace(h))
	}
	return cols
}

func indexOf(cols []string, name string) int {
	for i, c := range cols {
		if c == name {
			return i
		}
	}
	return -1
}

// customerRow validates one CSV record into an input; the error says what is
// wrong and what to write instead.
func customerRow(cols, rec []string) (store.CustomerInput, error) {
	var in store.CustomerInput
	if len(rec) != len(cols) {
		return in, fmt.Errorf("the row has %d cells but the header has %d; every row needs one cell per column", len(rec), len(cols))
	}
	for i, col := range cols {
		v := strings.TrimSpace(rec[i])
		if v == "" || col == "" {
			continue
		}
		if err := checkCell(i, col, v); err != nil {
			return in, err
		}
		if !customerColumns[col] {
			if in.Attributes == nil {
				in.Attributes = map[string]any{}
			}
			in.Attributes[col] = v
			continue
		}
		if err := setCustomerField(&in, col, v); err != nil {
			return in, &cellError{index: i, field: col, err: err}
		}
	}
	if in.ExternalID == "" {
		return in, errors.New("external_id is empty; every customer needs the shop's own id")
	}
	return in, nil
}

func setCustomerField(in *store.CustomerInput, col, v string) error {
	var err error
	str := func(s string) *string { return &s }
	switch col {
	case "external_id":
		in.ExternalID = v
	case "email":
		var e string
		e, err = parseEmail(v)
		in.Email = str(e)
	case "phone":
		var p string
		p, err = parsePhone(v)
		in.Phone = str(p)
	case "first_name":
		in.FirstName = str(v)
	case "last_name":
		in.LastName = str(v)
	case "locale":
		in.Locale = str(v)
	case "time_zone":
		var z string
		z, err = parseTimeZone(v)
		in.TimeZone = str(z)
	case "birthday":
		b, e := parseBirthday(v)
		in.Birthday, err = &b, e
	case "email_consent", "sms_consent":
		b, e := parseConsent(col, v)
		err = e
		if col == "email_consent" {
			in.EmailConsent = &b
		} else {
			in.SMSConsent = &b
		}
	case "tags":
		in.Tags = parseTags(v)
	default:
		// A registry import column without a case here: a bug the
		// registry's test (go test ./customer) reports.
		return fmt.Errorf("%s: this version cannot import the column yet; leave it out of the file", col)
	}
	return err
}
