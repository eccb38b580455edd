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

// classifySend maps a failed transaction (go-mail's or the pipelined one)
// to a channels.SendError: 4xx replies and connection trouble are
// transient, 5xx replies permanent, and 550/551/553 with enhanced status
// 5.1.x at RCPT TO a hard bounce.
func classifySend(err error) error {
	f, ok := failureOf(err)
	if !ok {
		return channels.Transient(netCode(err), fmt.Errorf("email: send: %w", err))
	}
	code, esc := f.code, f.esc
	if esc == "" {
		esc = enhancedCode.FindString(err.Error())
	}
	out := &channels.SendError{Err: fmt.Errorf("email: send: %s", redactAddrs(err.Error()))}
	switch {
	case f.reason == mail.ErrGetSender || f.reason == mail.ErrGetRcpts || f.reason == mail.ErrNoUnencoded:
		out.Permanent, out.Code = true, "invalid_message"
	case code >= 500:
		out.Permanent = true
		out.Code = strings.TrimSpace(strconv.Itoa(code) + " " + esc)
		out.HardBounce = f.reason == mail.ErrSMTPRcptTo &&
			(code == 550 || code == 551 || code == 553) && strings.HasPrefix(esc, "5.1.")
	case code >= 400:
		out.Code = strings.TrimSpace(strconv.Itoa(code) + " " + esc)
	default:
		out.Code = "connection"
		if strings.Contains(err.Error(), "timeout") {
			out.Code = "timeout"
		}
		// No reply to the final "." : the server may have queued the message.
		out.Ambiguous = f.reason == mail.ErrSMTPDataClose
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
	if f, ok := failureOf(err); ok && f.reason == mail.ErrSMTPDataClose && f.code == 0 {
		return &channels.SendError{Ambiguous: true, Code: "canceled",
			Err: fmt.Errorf("email: send interrupted after the message body: %w", ctx.Err())}
	}
	return fmt.Errorf("email: send: %w", ctx.Err())
}

// connUsable says whether the session survived err: a clean 4xx/5xx reply
// to MAIL FROM or RCPT TO (go-mail has sent RSET) leaves it usable; 421
// (service closing), a broken connection or a failed DATA phase does not.
func connUsable(err error) bool {
	f, ok := failureOf(err)
	if !ok || f.broken {
		return false
	}
	return (f.reason == mail.ErrSMTPMailFrom || f.reason == mail.ErrSMTPRcptTo) &&
		f.code >= 400 && f.code != 421
}

// isConnCheck reports a failed liveness check (NOOP) before the transaction.
func isConnCheck(err error) bool {
	f, ok := failureOf(err)
	return ok && f.reason == mail.ErrConnCheck
}

// deadAtMailFrom reports a reused session that turned out closed at MAIL
// FROM (the server dropped it, or said 421 closing): nothing was sent, so the
// message may be retried on a fresh connection at once.
func deadAtMailFrom(err error) bool {
	f, ok := failureOf(err)
	if !ok || f.reason != mail.ErrSMTPMailFrom {
		return false
	}
	// No reply code at all is a transport error (EOF, reset, broken pipe).
	return f.code == 0 || f.code == 421
}

func netCode(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "connection"
}

var addrLike = regexp.MustCompile(`[^\s<>"',:;]+@[^\s<>"',:;]+`)

// redactAddrs returns an error text with every address-like token (the
// affected recipients, addresses echoed in server replies) replaced by its
// channels.Redact tag.
func redactAddrs(text string) string {
	return addrLike.ReplaceAllStringFunc(text, func(a string) string {
		return "[" + channels.Redact(a) + "]"
	})
}
