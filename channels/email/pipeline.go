package email

import (
	"errors"
	"fmt"
	"net/textproto"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// A server that advertises PIPELINING (RFC 2920) gets MAIL FROM, RCPT TO
// and DATA in one write and answers them together: two round trips per
// message (the commands, then the body) instead of four. The body still
// goes only after the server's 354, so every failure before it leaves
// nothing sent and is as safe to retry as on the unpipelined path.

// txError is a failed step of a pipelined transaction. It carries what
// go-mail's SendError carries, so both are classified alike (failureOf).
// When a refusal is followed by a broken session (a 421 reply, then the
// server hangs up) it names the refusal, which is the cause.
type txError struct {
	reason mail.SendErrReason
	code   int    // the SMTP reply code; 0 for a transport error
	esc    string // the enhanced status code, when the server sends them
	err    error
	broken bool // the session cannot carry another message
}

func (e *txError) Error() string { return fmt.Sprintf("%s: %v", e.reason, e.err) }
func (e *txError) Unwrap() error { return e.err }

// smtpFailure is what classification needs of a failed transaction.
type smtpFailure struct {
	reason mail.SendErrReason
	code   int
	esc    string
	broken bool
}

// failureOf extracts the failed step, reply code and enhanced status code
// from a go-mail SendError or a txError.
func failureOf(err error) (smtpFailure, bool) {
	var te *txError
	if errors.As(err, &te) {
		return smtpFailure{te.reason, te.code, te.esc, te.broken}, true
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		return smtpFailure{reason: se.Reason, code: se.ErrorCode(), esc: se.EnhancedStatusCode()}, true
	}
	return smtpFailure{}, false
}

// pipelines reports whether the session may pipeline commands.
func pipelines(c *smtp.Client) bool {
	ok, _ := c.Extension("PIPELINING")
	return ok
}

// sendPipelined runs one SMTP transaction for msg with pipelined commands
// and returns the server's reply to the message. checkAlive sends a NOOP
// first, as go-mail does for a session that has been idle.
func (s *Sender) sendPipelined(c *conn, msg *mail.Msg, checkAlive bool) (string, error) {
	cl := c.client
	if checkAlive {
		if err := cl.Noop(); err != nil {
			return "", &txError{reason: mail.ErrConnCheck, err: err}
		}
	}
	if err := c.raw.SetDeadline(time.Now().Add(s.cfg.IOTimeout)); err != nil {
		return "", &txError{reason: mail.ErrConnCheck, err: err}
	}
	from, rcpt, err := envelope(msg)
	if err != nil {
		return "", err
	}
	escOK, _ := cl.Extension("ENHANCEDSTATUSCODES")
	if msg.Encoding() == mail.NoEncoding.String() {
		if ok, _ := cl.Extension("8BITMIME"); !ok {
			return "", &txError{reason: mail.ErrNoUnencoded, err: errors.New("the server does not accept 8-bit content")}
		}
	}
	mailCmd := "MAIL FROM:" + from
	if ok, _ := cl.Extension("8BITMIME"); ok {
		mailCmd += " BODY=8BITMIME"
	}
	if ok, _ := cl.Extension("SMTPUTF8"); ok {
		mailCmd += " SMTPUTF8"
	}
	tp := cl.Text
	if _, err := fmt.Fprintf(tp.W, "%s\r\nRCPT TO:%s\r\nDATA\r\n", mailCmd, rcpt); err != nil {
		return "", &txError{reason: mail.ErrSMTPMailFrom, err: err}
	}
	if err := tp.W.Flush(); err != nil {
		return "", &txError{reason: mail.ErrSMTPMailFrom, err: err}
	}
	fail := func(reason mail.SendErrReason, err error) *txError {
		te := &txError{reason: reason, err: err}
		var pe *textproto.Error
		if errors.As(err, &pe) {
			te.code = pe.Code
			if escOK {
				te.esc = enhancedCode.FindString(pe.Msg)
			}
		}
		return te
	}
	replies := []struct {
		reason mail.SendErrReason
		expect int
	}{{mail.ErrSMTPMailFrom, 250}, {mail.ErrSMTPRcptTo, 25}, {mail.ErrSMTPData, 354}}
	var first *txError
	dataOpen := false
	for i, r := range replies {
		_, _, err := tp.ReadResponse(r.expect)
		var pe *textproto.Error
		if err != nil && !errors.As(err, &pe) { // the session broke: nothing more to read
			if first == nil {
				first = fail(r.reason, err)
			}
			first.broken = true
			return "", first
		}
		if err != nil && first == nil {
			first = fail(r.reason, err)
		}
		dataOpen = i == 2 && err == nil
	}
	if first != nil {
		return "", s.abandon(tp, first, dataOpen)
	}
	dw := tp.DotWriter()
	if _, err := msg.WriteTo(dw); err != nil {
		return "", &txError{reason: mail.ErrWriteContent, err: err}
	}
	if err := dw.Close(); err != nil {
		return "", &txError{reason: mail.ErrSMTPDataClose, err: err}
	}
	_, reply, err := tp.ReadResponse(250)
	if err != nil {
		return "", fail(mail.ErrSMTPDataClose, err)
	}
	return reply, nil
}

// abandon ends a transaction refused before its body: an (unexpectedly)
// opened DATA gets an empty body, then RSET makes the session ready for the
// next message, as go-mail does after a refused MAIL FROM or RCPT TO.
func (s *Sender) abandon(tp *textproto.Conn, failed *txError, dataOpen bool) error {
	if dataOpen {
		if _, err := fmt.Fprint(tp.W, ".\r\n"); err != nil {
			return failed
		}
		if err := tp.W.Flush(); err != nil {
			return failed
		}
		if _, _, err := tp.ReadResponse(0); err != nil {
			var pe *textproto.Error
			if !errors.As(err, &pe) {
				return failed
			}
		}
		failed.reason = mail.ErrSMTPData // the session is not reused
		return failed
	}
	if failed.reason == mail.ErrSMTPData {
		return failed
	}
	if _, err := fmt.Fprint(tp.W, "RSET\r\n"); err == nil {
		if err := tp.W.Flush(); err == nil {
			if _, _, err := tp.ReadResponse(250); err != nil {
				failed.err = errors.Join(failed.err, err)
				failed.reason = mail.ErrSMTPReset // a session that cannot reset is not reused
			}
		}
	}
	return failed
}

// envelope returns the message's envelope sender and its one recipient, as
// go-mail writes them ("<addr>").
func envelope(msg *mail.Msg) (from, rcpt string, err error) {
	from, err = msg.GetSender(false)
	if err != nil {
		return "", "", &txError{reason: mail.ErrGetSender, err: err}
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return "", "", &txError{reason: mail.ErrGetRcpts, err: err}
	}
	if len(rcpts) != 1 {
		return "", "", &txError{reason: mail.ErrGetRcpts, err: fmt.Errorf("want one recipient, have %d", len(rcpts))}
	}
	if strings.ContainsAny(from+rcpts[0], "\r\n") {
		return "", "", &txError{reason: mail.ErrGetRcpts, err: errors.New("address contains a line break")}
	}
	return from, rcpts[0], nil
}
