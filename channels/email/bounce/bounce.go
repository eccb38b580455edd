// Package bounce reads the mail that comes back to a bounce mailbox: a
// delivery status notification (RFC 3464, multipart/report with
// report-type=delivery-status), a feedback-loop complaint (ARF, RFC 5965,
// report-type=feedback-report), the plain-text bounces common MTAs still
// send (Exim, qmail and Yahoo, legacy Exchange), and auto-replies (out of
// office, vacation), which are not bounces. It knows nothing of the store:
// it says who bounced, how, and which sent message it was about (the
// original Message-ID and the addresses a VERP return path may be among);
// the caller matches and records.
package bounce

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Class is what a message in the bounce mailbox is.
type Class string

// The classes of Parse.
const (
	// ClassReport: a bounce, delay warning, delivery receipt or complaint,
	// with one Report per recipient.
	ClassReport Class = "report"
	// ClassAutoReply: an out-of-office or vacation answer; not a bounce.
	ClassAutoReply Class = "auto_reply"
	// ClassOther: anything else (a person's mail, spam); left for a person.
	ClassOther Class = "other"
)

// Kind is what a report says about one recipient.
type Kind string

// The kinds of reports.
const (
	Hard      Kind = "hard"      // the address does not exist or refuses mail for good
	Soft      Kind = "soft"      // a failure that may pass (mailbox full, blocked, timed out)
	Delayed   Kind = "delayed"   // a warning: the MTA is still retrying; no failure yet
	Delivered Kind = "delivered" // a positive DSN
	Complaint Kind = "complaint" // the recipient reported the message as spam (ARF)
)

// Report is one recipient of a bounce or complaint.
type Report struct {
	Kind Kind
	// Format names where the report came from: "dsn", "arf", "exim",
	// "qmail", "exchange", "x-failed-recipients".
	Format string
	// Recipient is the address the report is about (Final-Recipient,
	// Original-Rcpt-To, the address an Exim bounce lists); "" when the
	// report redacts it.
	Recipient string
	// Status is the enhanced status code (5.1.1), when there is one.
	Status string
	// Diagnostic is the remote server's text (Diagnostic-Code, the lines
	// under the address in a plain bounce, an ARF's Feedback-Type).
	Diagnostic string
}

// Message is one parsed message of the bounce mailbox.
type Message struct {
	Class   Class
	Reports []Report
	// ID is the bounce's own Message-ID (without brackets), or a hash of its
	// bytes when it has none: with the recipient, the report's idempotency key.
	ID string
	// Date is when the bounce says it was written (zero when it does not).
	Date time.Time
	// OriginalMessageID is the Message-ID of the message that bounced, from
	// the copy or headers the bounce returns ("" when it returns none).
	OriginalMessageID string
	// Addresses are where the sent message's return path may show: the
	// bounce's To, Delivered-To, X-Original-To and Envelope-To, the
	// original's Return-Path, an ARF's Original-Mail-From. A signed VERP
	// address among them names the delivery.
	Addresses []string
}

// maxDepth bounds MIME nesting: a report is two levels deep; a deeper
// message is not one.
const maxDepth = 8

// ErrNotMail is returned for bytes that are not an RFC 5322 message.
var ErrNotMail = errors.New("bounce: not a mail message")

// Parse reads one raw message of the bounce mailbox.
func Parse(raw []byte) (*Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotMail, err)
	}
	m := &Message{Class: ClassOther, ID: trimID(msg.Header.Get("Message-Id"))}
	if m.ID == "" {
		sum := sha256.Sum256(raw)
		m.ID = "sha256:" + hex.EncodeToString(sum[:16])
	}
	if d, err := msg.Header.Date(); err == nil {
		m.Date = d.UTC()
	}
	for _, k := range []string{"To", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"} {
		m.addAddresses(msg.Header[k]...)
	}
	parts, err := walk(headerOf(msg.Header), msg.Body, 0)
	if err != nil {
		return nil, err
	}
	switch {
	case readARF(m, parts):
	case readDSN(m, parts):
	case fromMTA(msg.Header) && readPlain(m, msg.Header, parts):
	case isAutoReply(msg.Header):
		m.Class = ClassAutoReply
	}
	return m, nil
}

// addAddresses adds the addresses of header values (lists allowed) to the
// VERP candidates, once each.
func (m *Message) addAddresses(values ...string) {
	for _, v := range values {
		list, err := mail.ParseAddressList(v)
		if err != nil {
			if a := strings.Trim(strings.TrimSpace(v), "<>"); strings.Contains(a, "@") && !strings.ContainsAny(a, " ,") {
				m.add(a)
			}
			continue
		}
		for _, a := range list {
			m.add(a.Address)
		}
	}
}

func (m *Message) add(a string) {
	for _, have := range m.Addresses {
		if strings.EqualFold(have, a) {
			return
		}
	}
	m.Addresses = append(m.Addresses, a)
}

// original reads the returned copy (or headers) of the sent message.
func (m *Message) original(raw []byte) {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return
	}
	if !bytes.Contains(raw, []byte("\n\n")) && !bytes.Contains(raw, []byte("\r\n\r\n")) {
		raw = append(append([]byte(nil), raw...), "\r\n\r\n"...)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return
	}
	if id := trimID(msg.Header.Get("Message-Id")); id != "" && m.OriginalMessageID == "" {
		m.OriginalMessageID = id
	}
	m.addAddresses(msg.Header["Return-Path"]...)
}

// trimID strips the angle brackets and space around a Message-ID.
func trimID(s string) string {
	return strings.Trim(strings.TrimSpace(s), "<>")
}

// fromMTA reports whether a message comes from mail software rather than a
// person: a null return path, a mailer-daemon or postmaster sender, or a
// subject MTAs give their bounces. Only such a message is read as a plain
// bounce: a person's reply that quotes a bounce must suppress no one.
func fromMTA(h mail.Header) bool {
	if strings.TrimSpace(h.Get("Return-Path")) == "<>" || h.Get("X-Failed-Recipients") != "" {
		return true
	}
	if from, err := mail.ParseAddress(h.Get("From")); err == nil {
		local, _, _ := strings.Cut(strings.ToLower(from.Address), "@")
		if local == "mailer-daemon" || local == "postmaster" || local == "mailerdaemon" || strings.Contains(strings.ToLower(from.Name), "mail delivery") {
			return true
		}
	}
	subject := strings.ToLower(decodeWords(h.Get("Subject")))
	for _, p := range bounceSubjects {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return false
}

var bounceSubjects = []string{"undeliverable", "undelivered mail", "delivery status notification", "mail delivery failed",
	"failure notice", "returned mail", "delivery failure", "warning: message", "delayed mail", "non-delivery"}

// isAutoReply reports whether the headers mark an automatic answer: RFC
// 3834's Auto-Submitted, the X-Autoreply family, Precedence: auto_reply,
// or the subjects Outlook, Gmail and others give their vacation answers.
func isAutoReply(h mail.Header) bool {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return true
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation"} {
		if h.Get(k) != "" {
			return true
		}
	}
	if strings.EqualFold(strings.TrimSpace(h.Get("Precedence")), "auto_reply") {
		return true
	}
	subject := strings.ToLower(decodeWords(h.Get("Subject")))
	for _, p := range autoReplySubjects {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return false
}

var autoReplySubjects = []string{"auto:", "automatic reply", "autoreply", "auto-reply", "auto reply", "out of office",
	"out of the office", "vacation", "abwesenheitsnotiz", "réponse automatique", "respuesta automática", "risposta automatica"}
