package email

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/wneessen/go-mail"

	"github.com/tidings-crm/tidings/channels"
)

var enhancedCode = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)

// classifySend maps a go-mail send error to a channels.SendError:
// 4xx replies and connection trouble are transient, 5xx replies permanent,
// and 550/551/553 with enhanced status 5.1.x at RCPT TO a hard bounce.
func classifySend(err error) error {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return channels.Transient(netCode(err), fmt.Errorf("email: send: %w", err))
	}
	code := se.ErrorCode()
	esc := se.EnhancedStatusCode()
	if esc == "" {
		esc = enhancedCode.FindString(se.Error())
	}
	out := &channels.SendError{Err: fmt.Errorf("email: send: %s", redactRcpt(se))}
	switch {
	case se.Reason == mail.ErrGetSender || se.Reason == mail.ErrGetRcpts || se.Reason == mail.ErrNoUnencoded:
		out.Permanent, out.Code = true, "invalid_message"
	case code >= 500:
		out.Permanent = true
		out.Code = strings.TrimSpace(strconv.Itoa(code) + " " + esc)
		out.HardBounce = se.Reason == mail.ErrSMTPRcptTo &&
			(code == 550 || code == 551 || code == 553) && strings.HasPrefix(esc, "5.1.")
	case code >= 400:
		out.Code = strings.TrimSpace(strconv.Itoa(code) + " " + esc)
	default:
		out.Code = "connection"
		if strings.Contains(se.Error(), "timeout") {
			out.Code = "timeout"
		}
		// No reply to the final "." : the server may have queued the message.
		out.Ambiguous = se.Reason == mail.ErrSMTPDataClose
	}
	return out
}

// classifyDial maps a failure to open a session. Every such failure is
// transient: a refused connection, a TLS or AUTH problem is about the relay
// or our configuration, never about the recipient.
func classifyDial(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("email: send: %w", ctx.Err())
	}
	code := netCode(err)
	if errors.Is(err, errDialTimeout) {
		code = "timeout"
	}
	return channels.Transient(code, fmt.Errorf("email: send: %w", err))
}

// classifyCanceled reports a send interrupted because ctx ended. It wraps
// ctx.Err() so callers can tell cancellation apart, and is flagged Ambiguous
// when the interruption came while waiting for the reply to the final ".".
func classifyCanceled(ctx context.Context, err error) error {
	var se *mail.SendError
	if errors.As(err, &se) && se.Reason == mail.ErrSMTPDataClose && se.ErrorCode() == 0 {
		return &channels.SendError{Ambiguous: true, Code: "canceled",
			Err: fmt.Errorf("email: send interrupted after the message body: %w", ctx.Err())}
	}
	return fmt.Errorf("email: send: %w", ctx.Err())
}

// connUsable says whether the session survived err: a clean 4xx/5xx reply
// to MAIL FROM or RCPT TO (go-mail has sent RSET) leaves it usable; 421
// (service closing), a broken connection or a failed DATA phase does not.
func connUsable(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return false
	}
	code := se.ErrorCode()
	return (se.Reason == mail.ErrSMTPMailFrom || se.Reason == mail.ErrSMTPRcptTo) &&
		code >= 400 && code != 421
}

// isConnCheck reports a failed liveness check (NOOP) before the transaction.
func isConnCheck(err error) bool {
	var se *mail.SendError
	return errors.As(err, &se) && se.Reason == mail.ErrConnCheck
}

// deadAtMailFrom reports a reused session that turned out closed at MAIL
// FROM (the server dropped it, or said 421 closing): nothing was sent, so the
// message may be retried on a fresh connection at once.
func deadAtMailFrom(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) || se.Reason != mail.ErrSMTPMailFrom {
		return false
	}
	// No reply code at all is a transport error (EOF, reset, broken pipe).
	code := se.ErrorCode()
	return code == 0 || code == 421
}

func netCode(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "connection"
}

var addrLike = regexp.MustCompile(`[^\s<>"',:;]+@[^\s<>"',:;]+`)

// redactRcpt returns the go-mail error text with every address-like token
// (the affected recipients, addresses echoed in server replies) replaced by
// its channels.Redact tag.
func redactRcpt(se *mail.SendError) string {
	return addrLike.ReplaceAllStringFunc(se.Error(), func(a string) string {
		return "[" + channels.Redact(a) + "]"
	})
}
