package smtptest_test

import (
	"errors"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/channels/smtptest"
)

// send delivers one short message with the standard library client.
func send(addr, to string) error {
	msg := "From: a@example.com\r\nTo: " + to + "\r\nSubject: hi\r\nMessage-ID: <m@example.com>\r\n\r\nhello\r\n"
	return smtp.SendMail(addr, nil, "a@example.com", []string{to}, []byte(msg))
}

// TestRefuseTurnsAwayEveryRecipientUntilLifted: while Refuse(451) holds,
// every RCPT TO gets 451 and nothing is recorded; Refuse(0) restores
// service.
func TestRefuseTurnsAwayEveryRecipientUntilLifted(t *testing.T) {
	s := smtptest.Start(t)
	s.Refuse(451)
	for _, to := range []string{"x@example.com", "y@example.com"} {
		err := send(s.Addr(), to)
		var pe *textproto.Error
		if !errors.As(err, &pe) || pe.Code != 451 {
			t.Fatalf("send to %s while refusing: %v, want a 451 reply", to, err)
		}
	}
	if got := s.Refused(); got != 2 {
		t.Errorf("Refused() = %d, want 2", got)
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("recorded %d messages while refusing", n)
	}
	s.Refuse(0)
	if err := send(s.Addr(), "x@example.com"); err != nil {
		t.Fatalf("send after Refuse(0): %v", err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || !strings.EqualFold(msgs[0].To[0], "x@example.com") || msgs[0].MessageID() != "m@example.com" {
		t.Fatalf("after Refuse(0) got %+v, want the one message to x@example.com", msgs)
	}
}
