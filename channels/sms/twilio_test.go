package sms_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/sms"
	"github.com/tidings-crm/tidings/channels/smstest"
)

func newTwilio(t *testing.T, srv *smstest.Server, mutate ...func(*sms.TwilioConfig)) *sms.Twilio {
	t.Helper()
	cfg := sms.TwilioConfig{BaseURL: srv.URL, AccountSID: smstest.AccountSID, AuthToken: smstest.AuthToken,
		From: "+15005550006", Timeout: 2 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	tw, err := sms.NewTwilio(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tw
}

func smsMessage(id int64, to, text string) *channels.Message {
	return &channels.Message{DeliveryID: id, Campaign: "win-back", To: to, Text: text}
}

func TestTwilioSuccess(t *testing.T) {
	srv := smstest.Start(t)
	tw := newTwilio(t, srv)
	text := "Hi Ann, we miss you! Take 20% off your next order with code BACK20 – reply STOP to opt out" // en dash: UCS-2, 90 units
	res, err := tw.Send(context.Background(), smsMessage(1, "+14155550123", text))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := srv.WaitMessages(t, 1, time.Second)
	if res.ProviderID != msgs[0].SID || !strings.HasPrefix(res.ProviderID, "SM") {
		t.Errorf("ProviderID = %q, server sid %q", res.ProviderID, msgs[0].SID)
	}
	if res.Segments != 2 {
		t.Errorf("Segments = %d, want 2", res.Segments)
	}
	if m := msgs[0]; m.To != "+14155550123" || m.From != "+15005550006" || m.Body != text {
		t.Errorf("server got %+v", m)
	}
}

func TestTwilioMessagingService(t *testing.T) {
	srv := smstest.Start(t)
	tw := newTwilio(t, srv, func(c *sms.TwilioConfig) { c.From = ""; c.MessagingServiceSID = "MGtest" })
	if _, err := tw.Send(context.Background(), smsMessage(1, "+14155550123", "hello")); err != nil {
		t.Fatal(err)
	}
	if m := srv.Messages()[0]; m.MessagingServiceSID != "MGtest" || m.From != "" {
		t.Errorf("server got %+v", m)
	}
}

func TestTwilioBasicAuthChecked(t *testing.T) {
	srv := smstest.Start(t)
	tw := newTwilio(t, srv, func(c *sms.TwilioConfig) { c.AuthToken = "wrong" })
	_, err := tw.Send(context.Background(), smsMessage(1, "+14155550123", "hello"))
	var se *channels.SendError
	if !errors.As(err, &se) || se.Code != "20003" || se.Permanent {
		t.Fatalf("err = %v, want transient 20003 (bad credentials are not the recipient's fault)", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("message accepted with wrong credentials")
	}
}

func TestTwilio429RetryAfterHoldsSends(t *testing.T) {
	srv := smstest.Start(t)
	tw := newTwilio(t, srv)
	srv.FailNext(smstest.TooManyRequests("1"), 1)
	_, err := tw.Send(context.Background(), smsMessage(1, "+14155550123", "hello"))
	if d, ok := channels.RetryAfterOf(err); !ok || d != time.Second || channels.IsPermanent(err) {
		t.Fatalf("err = %v (retry %s %v), want transient with RetryAfter 1s", err, d, ok)
	}
	first := srv.Requests()[0]
	// Sends during the Retry-After window fail fast without reaching the API.
	_, err = tw.Send(context.Background(), smsMessage(2, "+14155550124", "hello"))
	if d, ok := channels.RetryAfterOf(err); !ok || d <= 0 || d > time.Second {
		t.Fatalf("held send: err = %v, want RetryAfter within 1s", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Fatalf("API saw %d requests during Retry-After, want 1", n)
	}
	// The hold is wall time and the API server's clock is the wall's: the
	// test lets the second pass, which is what it checks (the gap below).
	time.Sleep(time.Second + 50*time.Millisecond)
	if _, err := tw.Send(context.Background(), smsMessage(2, "+14155550124", "hello")); err != nil {
		t.Fatalf("after Retry-After: %v", err)
	}
	reqs := srv.Requests()
	if gap := reqs[1].Sub(first); gap < time.Second {
		t.Errorf("second request %s after the 429, want >= 1s", gap)
	}
}

func TestTwilioRetryAfterHTTPDate(t *testing.T) {
	srv := smstest.Start(t)
	tw := newTwilio(t, srv)
	at := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	srv.FailNext(smstest.Reply{Status: 503, Code: 20503, Message: "Service Unavailable", RetryAfter: at}, 1)
	_, err := tw.Send(context.Background(), smsMessage(1, "+14155550123", "hello"))
	d, ok := channels.RetryAfterOf(err)
	if !ok || d < time.Second || d > 3*time.Second || channels.IsPermanent(err) {
		t.Fatalf("err = %v, RetryAfter %s; want transient with ~2-3s", err, d)
	}
}

func TestTwilio500Transient(t *testing.T) {
	srv := smstest.Start(t)
	tw := newTwilio(t, srv)
	srv.FailNext(smstest.ServerError, 1)
	_, err := tw.Send(context.Background(), smsMessage(1, "+14155550123", "hello"))
	var se *channels.SendError
	if !errors.As(err, &se) || se.Permanent || se.Code != "20500" || se.RetryAfter != 0 {
		t.Fatalf("err = %v, want transient 20500", err)
	}
	if _, err := tw.Send(context.Background(), smsMessage(1, "+14155550123", "hello")); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

func TestTwilioPermanentCodes(t *testing.T) {
	srv := smstest.Start(t)
	tw := newTwilio(t, srv)
	srv.FailNumber("+14155550001", smstest.InvalidNumber)
	srv.FailNumber("+14155550002", smstest.Unsubscribed)

	_, err := tw.Send(context.Background(), smsMessage(1, "+14155550001", "hello"))
	var se *channels.SendError
	if !errors.As(err, &se) || !se.Permanent || se.Code != "21211" || se.Unsubscribed {
		t.Fatalf("21211: err = %v, want permanent, not unsubscribed", err)
	}
	_, err = tw.Send(context.Background(), smsMessage(2, "+14155550002", "hello"))
	if !channels.IsPermanent(err) || !channels.IsUnsubscribed(err) {
		t.Fatalf("21610: err = %v, want permanent and Unsubscribed", err)
	}
	if strings.Contains(err.Error(), "4155550002") {
		t.Errorf("error leaks the number: %v", err)
	}
	// Not E.164: rejected before any request.
	before := len(srv.Requests())
	if _, err := tw.Send(context.Background(), smsMessage(3, "0415 555 0003", "hello")); !channels.IsPermanent(err) {
		t.Fatalf("non-E.164: err = %v, want permanent", err)
	}
	if len(srv.Requests()) != before {
		t.Error("a non-E.164 number reached the API")
	}
}

func TestTwilioSlowReplyIsAmbiguous(t *testing.T) {
	srv := smstest.Start(t)
	tw := newTwilio(t, srv, func(c *sms.TwilioConfig) { c.Timeout = 200 * time.Millisecond })
	srv.Delay(2 * time.Second)
	start := time.Now()
	_, err := tw.Send(context.Background(), smsMessage(1, "+14155550123", "hello"))
	if !channels.IsAmbiguous(err) || channels.IsPermanent(err) || channels.IsCanceled(err) {
		t.Fatalf("err = %v, want transient, ambiguous, not a cancellation", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("timeout took %s", time.Since(start))
	}
	// The provider did accept it: exactly why the caller must not resend blindly.
	if len(srv.Messages()) != 1 {
		t.Errorf("server messages = %d", len(srv.Messages()))
	}
}

func TestTwilioCancellation(t *testing.T) {
	srv := smstest.Start(t)
	tw := newTwilio(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tw.Send(ctx, smsMessage(1, "+14155550123", "hello"))
	if !errors.Is(err, context.Canceled) || channels.IsPermanent(err) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(srv.Requests()) != 0 {
		t.Error("a cancelled send reached the API")
	}
}

func TestTwilioConnectionRefusedTransient(t *testing.T) {
	srv := smstest.Start(t)
	tw := newTwilio(t, srv)
	srv.Close()
	_, err := tw.Send(context.Background(), smsMessage(1, "+14155550123", "hello"))
	var se *channels.SendError
	if !errors.As(err, &se) || se.Permanent || se.Code != "connection" || se.Ambiguous {
		t.Fatalf("err = %v, want transient connection error, not ambiguous", err)
	}
}
