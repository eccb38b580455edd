package smtptest

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// reply is an SMTP error reply the server is told to give.
type reply struct {
	code     int
	enhanced string // "5.1.1"; "" derives one from the code
}

// rule rejects one recipient, times more times (negative: always).
type rule struct {
	reply
	times int
}

// FailNext makes the next n recipients (of any message) be rejected at RCPT
// TO with code: 4xx codes answer with enhanced status 4.x.x (transient),
// 550/551/553 with 5.1.1 (user unknown), other 5xx with 5.x.0.
func (s *Server) FailNext(code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, reply{code: code})
	}
}

// FailRecipient makes RCPT TO for addr (case-insensitive) answer code with
// the given enhanced status ("" derives one), times times; times < 0 means
// every time.
func (s *Server) FailRecipient(addr string, code int, enhanced string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules[strings.ToLower(addr)] = &rule{reply: reply{code: code, enhanced: enhanced}, times: times}
}

// Refuse makes every RCPT TO answer code (4xx: transient, e.g. 451 for a
// relay refusing for a while) until Refuse(0) restores normal service. It
// takes precedence over FailRecipient and FailNext, and counts the refusals
// (Refused).
func (s *Server) Refuse(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = code
}

// Refused returns how many recipients Refuse turned away so far.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// rcptReply returns the error to answer for a recipient, or nil.
func (s *Server) rcptReply(to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse != 0 {
		s.refused++
		return reply{code: s.refuse}.smtpError()
	}
	if r, ok := s.rules[strings.ToLower(to)]; ok && r.times != 0 {
		if r.times > 0 {
			r.times--
		}
		return r.reply.smtpError()
	}
	if len(s.failNext) > 0 {
		r := s.failNext[0]
		s.failNext = s.failNext[1:]
		return r.smtpError()
	}
	return nil
}

func (r reply) smtpError() *smtp.SMTPError {
	enhanced := r.enhanced
	if enhanced == "" {
		switch {
		case r.code == 550 || r.code == 551 || r.code == 553:
			enhanced = "5.1.1"
		case r.code == 421:
			enhanced = "4.3.2"
		case r.code >= 500:
			enhanced = "5." + strconv.Itoa(r.code/10%10) + ".0"
		default:
			enhanced = "4.2.0"
		}
	}
	var ec smtp.EnhancedCode
	for i, p := range strings.SplitN(enhanced, ".", 3) {
		ec[i], _ = strconv.Atoi(p)
	}
	msg := "Requested action not taken (smtptest rule)"
	if ec[1] == 1 {
		msg = "Recipient address rejected: user unknown (smtptest rule)"
	}
	return &smtp.SMTPError{Code: r.code, EnhancedCode: ec, Message: msg}
}

var errDataReleased = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
	Message: "Released after hanging (smtptest)"}

type backend struct{ s *Server }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	if err := b.s.wait(); err != nil {
		return nil, err
	}
	_, isTLS := c.TLSConnectionState()
	return &session{s: b.s, conn: c, tls: isTLS, authed: b.s.user == ""}, nil
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	tls    bool
	authed bool
	from   string
	to     []string
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
	Message: "Authentication required"}

func (se *session) AuthMechanisms() []string {
	if se.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != se.s.user || password != se.s.pass {
			return smtp.ErrAuthFailed
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if err := se.s.wait(); err != nil {
		return err
	}
	if !se.authed {
		return errAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := se.s.wait(); err != nil {
		return err
	}
	if err := se.s.rcptReply(to); err != nil {
		return err
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	if err := se.s.wait(); err != nil {
		return err
	}
	if blocked, err := se.s.waitData(); blocked || err != nil {
		return errDataReleased
	}
	if len(se.to) == 0 {
		return errors.New("no recipients")
	}
	_, isTLS := se.conn.TLSConnectionState()
	se.s.accept(Message{From: se.from, To: append([]string(nil), se.to...), Data: buf.Bytes(),
		TLS: isTLS || se.tls, Received: time.Now()})
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }
