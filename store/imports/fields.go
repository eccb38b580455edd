package imports

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// parseEmail accepts a bare address (no display name) and lower-cases it, the
// form suppressions are keyed on.
func parseEmail(v string) (string, error) {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
		return "", fmt.Errorf("email %q is not a valid address; write it like name@example.com", v)
	}
	return strings.ToLower(v), nil
}

// parsePhone normalises spaces, dashes, dots and parentheses away and wants
// "+" then 8 to 15 digits (E.164).
func parsePhone(v string) (string, error) {
	var b strings.Builder
	for i, r := range v {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("phone %q has a character that is not a digit; write + then the country code and number, e.g. +33612345678", v)
		}
	}
	p := b.String()
	if !strings.HasPrefix(p, "+") || len(p)-1 < 8 || len(p)-1 > 15 {
		return "", fmt.Errorf("phone %q is not in international format; write + then the country code and number (8 to 15 digits), e.g. +33612345678", v)
	}
	return p, nil
}

func parseTimeZone(v string) (string, error) {
	if v == "Local" {
		return "", fmt.Errorf("time zone %q is not allowed; write an IANA name such as Europe/Paris or America/New_York", v)
	}
	if _, err := time.LoadLocation(v); err != nil {
		return "", fmt.Errorf("time zone %q is unknown; write an IANA name such as Europe/Paris or America/New_York", v)
	}
	return v, nil
}

func parseBirthday(v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("birthday %q is not a date; write YYYY-MM-DD, e.g. 1990-12-31", v)
	}
	return t, nil
}

func parseConsent(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "y", "1":
		return true, nil
	case "false", "no", "n", "0":
		return false, nil
	}
	return false, fmt.Errorf("%s %q is not a yes/no value; write true or false (yes/no and 1/0 work too)", name, v)
}

func parseTags(v string) []string {
	tags := []string{}
	seen := map[string]bool{}
	for _, t := range strings.Split(v, ";") {
		t = strings.TrimSpace(t)
		if t != "" && !seen[strings.ToLower(t)] {
			seen[strings.ToLower(t)] = true
			tags = append(tags, t)
		}
	}
	return tags
}

// parseCents reads a decimal amount with at most two decimals ("12", "12.5",
// "-3.99") into integer cents exactly, without going through floats.
func parseCents(v string) (int64, error) {
	bad := fmt.Errorf("amount %q is not a number; write digits with a dot and at most two decimals, e.g. 12.34", v)
	s, neg := v, false
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		neg, s = s[0] == '-', s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, bad
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("amount %q has more than two decimals; round it to cents, e.g. 12.34", v)
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, bad
			}
		}
	}
	if whole == "" {
		whole = "0"
	}
	units, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || units > (1<<62)/100 {
		return 0, fmt.Errorf("amount %q is too large", v)
	}
	cents := units * 100
	if frac != "" {
		f, _ := strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
		cents += f
	}
	if neg {
		cents = -cents
	}
	return cents, nil
}

func parseQuantity(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("quantity %q is not a whole number; write 0 or more, e.g. 2", v)
	}
	return n, nil
}

func parseOccurredAt(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("occurred_at %q is not a time; write RFC 3339 (2024-05-01T14:30:00Z) or YYYY-MM-DD", v)
}

func parseCurrency(v string) (string, error) {
	c := strings.ToUpper(v)
	if len(c) != 3 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return "", fmt.Errorf("currency %q is not an ISO 4217 code; write three letters, e.g. USD or EUR", v)
	}
	return c, nil
}

func parseItems(v string) (json.RawMessage, error) {
	var items []map[string]any
	if err := json.Unmarshal([]byte(v), &items); err != nil {
		return nil, fmt.Errorf("items is not a JSON array of objects; write e.g. [{\"sku\":\"A1\",\"quantity\":1,\"price\":9.99}] or leave it empty")
	}
	return json.RawMessage(v), nil
}

// Cell sizes: an identifier is a key of a unique index (PostgreSQL refuses
// index entries over ~2.7 kB), any other value a short text.
const (
	maxIDBytes   = 255
	maxCellBytes = 4096
)

// checkText refuses a value the database must never see: bytes that are not
// UTF-8 (a file saved in Latin-1 or Windows-1252), a NUL (a UTF-16 or binary
// file; PostgreSQL refuses it in text and JSON), or more than max bytes. The
// error says what to change in the file.
func checkText(v string, max int) error {
	if !utf8.ValidString(v) {
		at := 0
		for at < len(v) {
			r, n := utf8.DecodeRuneInString(v[at:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			at += n
		}
		return fmt.Errorf("the value is not valid UTF-8 (byte 0x%02X at byte %d of %q); save the file as UTF-8", v[at], at+1, excerpt(v))
	}
	if i := strings.IndexByte(v, 0); i >= 0 {
		return fmt.Errorf("the value contains a NUL byte (at byte %d of %q); remove it, or save the file as UTF-8 text if it is UTF-16", i+1, excerpt(v))
	}
	if len(v) > max {
		return fmt.Errorf("the value is %d bytes long; the most is %d", len(v), max)
	}
	return nil
}

// excerpt shortens a value quoted in a message.
func excerpt(v string) string {
	if len(v) > 40 {
		return v[:40] + "..."
	}
	return v
}

// checkHeader refuses a header row whose column names are not UTF-8 text:
// every row would be read against it.
func checkHeader(header []string) error {
	for i, h := range header {
		if err := checkText(h, maxIDBytes); err != nil {
			return fmt.Errorf("the header's column %d: %w", i+1, err)
		}
	}
	return nil
}

// cellError is a row's rejection caused by one cell, so it can be reported
// at that cell's line and column.
type cellError struct {
	index int    // the cell's index in the record
	field string // its column name
	err   error
}

func (e *cellError) Error() string { return e.err.Error() }

// checkCell validates one cell's text, naming its column in the error.
func checkCell(index int, field, v string) error {
	max := maxCellBytes
	switch field {
	case "external_id", "order_id", "customer_id":
		max = maxIDBytes
	}
	if err := checkText(v, max); err != nil {
		return &cellError{index: index, field: field, err: fmt.Errorf("%s: %w", field, err)}
	}
	return nil
}
