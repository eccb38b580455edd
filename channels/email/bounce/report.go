package bounce

import (
	"strings"
)

// fields is one block of a delivery-status or feedback-report body:
// RFC 822-style fields, names folded to lower case, continuation lines
// joined.
type fields map[string]string

// blocks splits a report body into its field blocks (per-message, then one
// per recipient), separated by blank lines.
func blocks(body []byte) []fields {
	var out []fields
	cur := fields{}
	last := ""
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur, last = fields{}, ""
	}
	for _, line := range strings.Split(normalize(body), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case (line[0] == ' ' || line[0] == '\t') && last != "":
			cur[last] += " " + strings.TrimSpace(line)
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(name))
			if _, dup := cur[last]; dup {
				continue // the first wins (Original-Rcpt-To may repeat)
			}
			cur[last] = strings.TrimSpace(value)
		}
	}
	flush()
	return out
}

// typed strips an address-type prefix: "rfc822; a@b" -> "a@b".
func typed(v string) string {
	if _, after, ok := strings.Cut(v, ";"); ok {
		v = after
	}
	return strings.Trim(strings.TrimSpace(v), "<>")
}

// readDSN reads a delivery status notification: a message/delivery-status
// (or RFC 6533's message/global-delivery-status) part, one report per
// recipient block, and the original from message/rfc822 or
// text/rfc822-headers.
func readDSN(m *Message, parts []part) bool {
	st, ok := first(parts, "message/delivery-status", "message/global-delivery-status")
	if !ok {
		return false
	}
	bs := blocks(st.body)
	for _, b := range bs {
		rcpt := typed(b["final-recipient"])
		if rcpt == "" {
			rcpt = typed(b["original-recipient"])
		}
		if rcpt == "" {
			continue // the per-message block
		}
		diag := typed(b["diagnostic-code"])
		kind := classify(strings.ToLower(b["action"]), b["status"], diag, true)
		m.Reports = append(m.Reports, Report{Kind: kind, Format: "dsn", Recipient: rcpt, Status: b["status"], Diagnostic: diag})
	}
	if orig, ok := first(parts, "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"); ok {
		m.original(orig.body)
	}
	m.Class = ClassReport
	return true
}

// readARF reads a feedback-loop complaint (RFC 5965): a
// message/feedback-report part and the original message or its headers.
func readARF(m *Message, parts []part) bool {
	fb, ok := first(parts, "message/feedback-report")
	if !ok {
		return false
	}
	var f fields
	if bs := blocks(fb.body); len(bs) > 0 {
		f = bs[0]
	} else {
		f = fields{}
	}
	if orig, ok := first(parts, "message/rfc822", "text/rfc822-headers"); ok {
		m.original(orig.body)
	}
	m.addAddresses(f["original-mail-from"])
	typ := strings.ToLower(f["feedback-type"])
	diag := "feedback-type " + typ
	if ua := f["user-agent"]; ua != "" {
		diag += " from " + ua
	}
	m.Class = ClassReport
	if typ != "" && typ != "abuse" && typ != "fraud" && typ != "virus" && typ != "other" {
		return true // auth-failure, not-spam: not a complaint about the recipient's wish
	}
	m.Reports = append(m.Reports, Report{Kind: Complaint, Format: "arf", Recipient: typed(f["original-rcpt-to"]), Diagnostic: diag})
	return true
}
