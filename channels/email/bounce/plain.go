package bounce

import (
	"net/mail"
	"strings"
)

// plainFormat is one MTA's plain-text bounce: the phrase that opens the
// list of failed addresses, the line that opens the returned copy, and
// whether the bounce is a delay warning.
type plainFormat struct {
	name    string
	start   []string // the list of addresses follows the first line holding one of these
	copy    []string // the returned original follows the first line holding one of these
	delayed bool
	failed  bool // the list is of permanent failures (said in the text)
}

// plainFormats are tried in order on the first text part.
var plainFormats = []plainFormat{
	{name: "exim", delayed: true,
		start: []string{"has not yet been delivered to the following address", "the address to which the message has not yet been delivered is", "the addresses to which the message has not yet been delivered are"},
		copy:  []string{"------ this is a copy of the message"}},
	{name: "exim", failed: true,
		start: []string{"the following address(es) failed", "could not be delivered to one or more of its recipients"},
		copy:  []string{"------ this is a copy of the message", "------ the body of the message is"}},
	{name: "qmail", failed: true, // qmail, and Yahoo's own bounces
		start: []string{"unable to deliver your message to the following address", "this is the qmail-send program", "i'm afraid i wasn't able to deliver your message"},
		copy:  []string{"--- below this line is a copy of the message", "--- enclosed are the original headers"}},
	{name: "exchange", failed: true, // Exchange 2003-2007 NDRs
		start: []string{"the following recipient(s) cannot be reached", "the following recipient(s) could not be reached", "delivery has failed to these recipients or groups"},
		copy:  []string{"original message headers:"}},
}

// readPlain reads a plain-text bounce of a known MTA, then falls back on
// Exim's X-Failed-Recipients header.
func readPlain(m *Message, h mail.Header, parts []part) bool {
	body := text(parts)
	lower := strings.ToLower(body)
	if orig, ok := first(parts, "message/rfc822", "text/rfc822-headers"); ok {
		m.original(orig.body)
	}
	for _, f := range plainFormats {
		i := indexAny(lower, f.start)
		if i < 0 {
			continue
		}
		section := body[i:]
		if nl := strings.IndexByte(section, '\n'); nl >= 0 {
			section = section[nl+1:]
		} else {
			section = ""
		}
		if j := indexAny(strings.ToLower(section), f.copy); j >= 0 {
			m.original([]byte(skipLine(section[j:])))
			section = section[:j]
		}
		reports := listed(section, f)
		if len(reports) == 0 {
			continue
		}
		m.Reports, m.Class = reports, ClassReport
		return true
	}
	if failed := h.Get("X-Failed-Recipients"); failed != "" {
		list, err := mail.ParseAddressList(failed)
		if err != nil {
			return false
		}
		for _, a := range list {
			m.Reports = append(m.Reports, Report{Kind: classify("", "", body, true), Format: "x-failed-recipients", Recipient: a.Address})
		}
		m.Class = ClassReport
		return true
	}
	return false
}

// listed reads the addresses of a plain bounce's list: a line whose first
// word is an address opens a recipient, the lines under it are its
// diagnostic.
func listed(section string, f plainFormat) []Report {
	var out []Report
	var diag []string
	flush := func() {
		if len(out) == 0 {
			return
		}
		r := &out[len(out)-1]
		r.Diagnostic = strings.Join(diag, " ")
		r.Status = enhancedCode.FindString(r.Diagnostic)
		if f.delayed {
			r.Kind = Delayed
		} else {
			r.Kind = classify("", "", r.Diagnostic, f.failed)
		}
		diag = nil
	}
	for _, line := range strings.Split(section, "\n") {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		word, _, _ := strings.Cut(t, " ")
		if a := strings.TrimRight(strings.Trim(word, "<>:"), ">:"); looksLikeAddress(a) {
			flush()
			out = append(out, Report{Format: f.name, Recipient: a})
			continue
		}
		if len(out) > 0 {
			diag = append(diag, t)
		}
	}
	flush()
	return out
}

// looksLikeAddress is a loose check: one @ with text on both sides and a
// dot in the domain.
func looksLikeAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(s, " <>()[],;\"") && !strings.Contains(domain, "@")
}

func indexAny(s string, subs []string) int {
	best := -1
	for _, sub := range subs {
		if i := strings.Index(s, sub); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

// skipLine drops the first line of s.
func skipLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return ""
}
