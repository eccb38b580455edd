package email_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/email"
	"github.com/tidings-crm/tidings/channels/smtptest"
)

// newSender builds a Sender for srv with small timeouts.
func newSender(t testing.TB, srv *smtptest.Server, pool int, mutate ...func(*email.Config)) *email.Sender {
	t.Helper()
	cfg, err := email.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.From = "news@shop.example"
	cfg.FromName = "Shop News"
	cfg.PoolSize = pool
	cfg.DialTimeout = 2 * time.Second
	cfg.IOTimeout = 2 * time.Second
	cfg.HELO = "tidings.test"
	if roots := srv.RootCAs(); roots != nil {
		cfg.TLSConfig = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testMessage(id int64, to string) *channels.Message {
	return &channels.Message{
		DeliveryID: id, Campaign: "birthday-greeting", Variant: "a", To: to,
		Subject:           "Happy birthday, Ann! 🎂",
		Text:              "Happy birthday!\nHere is 10% off: BDAY10",
		HTML:              "<p>Happy birthday!</p><p>Here is <b>10% off</b>: BDAY10</p>",
		Locale:            "en",
		UnsubscribeURL:    "https://shop.example/u/abc123",
		UnsubscribeMailto: "unsubscribe+abc123@shop.example",
	}
}

func TestSendWellFormedMIME(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv, 2)
	res, err := s.Send(context.Background(), testMessage(42, "ann@example.com"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if res.ProviderID != "tidings.42@shop.example" {
		t.Errorf("ProviderID = %q", res.ProviderID)
	}
	msgs := srv.WaitMessages(t, 1, 5*time.Second)
	got := msgs[0]
	if got.From != "news@shop.example" || len(got.To) != 1 || got.To[0] != "ann@example.com" {
		t.Errorf("envelope = %q -> %q", got.From, got.To)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(got.Data)))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	h := m.Header
	checks := map[string]string{
		"Message-Id":            "<tidings.42@shop.example>",
		"List-Unsubscribe":      "<https://shop.example/u/abc123>, <mailto:unsubscribe+abc123@shop.example>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"X-Tidings-Campaign":    "birthday-greeting",
		"Content-Language":      "en",
	}
	for k, want := range checks {
		if v := h.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subj != "Happy birthday, Ann! 🎂" {
		t.Errorf("Subject = %q (%v)", subj, err)
	}
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Name != "Shop News" || from.Address != "news@shop.example" {
		t.Errorf("From = %q (%v)", h.Get("From"), err)
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	parts := readAlternative(t, m)
	if !strings.Contains(parts["text/plain"], "Here is 10% off: BDAY10") {
		t.Errorf("text part = %q", parts["text/plain"])
	}
	if !strings.Contains(parts["text/html"], "<b>10% off</b>") {
		t.Errorf("html part = %q", parts["text/html"])
	}
}

// readAlternative checks the body is multipart/alternative and returns the
// decoded parts by media type.
func readAlternative(t *testing.T, m *mail.Message) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable transparently
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		out[pt] = string(body)
	}
	if len(out) != 2 {
		t.Fatalf("parts = %v, want text/plain and text/html", out)
	}
	return out
}

func TestConnectionReuse(t *testing.T) {
	srv := smtptest.Start(t)
	const pool, sends = 3, 40
	s := newSender(t, srv, pool)
	var wg sync.WaitGroup
	errs := make(chan error, sends)
	for i := range sends {
		wg.Go(func() {
			_, err := s.Send(context.Background(), testMessage(int64(i+1), fmt.Sprintf("c%d@example.com", i)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	if n := len(srv.Messages()); n != sends {
		t.Fatalf("server got %d messages, want %d", n, sends)
	}
	if c := srv.Connections(); c > pool || c < 1 {
		t.Errorf("server saw %d connections for %d sends, want 1..%d", c, sends, pool)
	}
	if d := s.Dials(); d != srv.Connections() {
		t.Errorf("sender dialled %d, server accepted %d", d, srv.Connections())
	}
}

func TestTransientThenDeliveredOnRetry(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv, 1)
	srv.FailNext(451, 1)
	m := testMessage(7, "bob@example.com")
	_, err := s.Send(context.Background(), m)
	var se *channels.SendError
	if !errors.As(err, &se) || se.Permanent || se.HardBounce || channels.IsPermanent(err) {
		t.Fatalf("first send: err = %v, want transient SendError", err)
	}
	if !strings.HasPrefix(se.Code, "451") {
		t.Errorf("Code = %q, want 451 ...", se.Code)
	}
	if strings.Contains(err.Error(), "bob@example.com") {
		t.Errorf("error leaks the address: %v", err)
	}
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("retry: %v", err)
	}
	msgs := srv.WaitMessages(t, 1, 5*time.Second)
	if len(msgs) != 1 || msgs[0].MessageID() != "tidings.7@shop.example" {
		t.Fatalf("messages = %d, id %q", len(msgs), msgs[0].MessageID())
	}
	if srv.Connections() != 1 {
		t.Errorf("connections = %d: a clean 451 should keep the session", srv.Connections())
	}
}

func TestHardBounce(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv, 1)
	srv.FailRecipient("gone@example.com", 550, "5.1.1", -1)
	srv.FailRecipient("full@example.com", 552, "5.2.2", -1)
	_, err := s.Send(context.Background(), testMessage(1, "gone@example.com"))
	if !channels.IsPermanent(err) || !channels.IsHardBounce(err) {
		t.Fatalf("err = %v, want permanent hard bounce", err)
	}
	var se *channels.SendError
	if errors.As(err, &se); se.Code != "550 5.1.1" {
		t.Errorf("Code = %q", se.Code)
	}
	_, err = s.Send(context.Background(), testMessage(2, "full@example.com"))
	if !channels.IsPermanent(err) || channels.IsHardBounce(err) {
		t.Fatalf("552 5.2.2: err = %v, want permanent, not a hard bounce", err)
	}
	if _, err := s.Send(context.Background(), testMessage(3, "ok@example.com")); err != nil {
		t.Fatalf("send after bounces: %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("messages = %d, want 1", n)
	}
}

func TestHangingServerTimesOut(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv, 1, func(c *email.Config) {
		c.IOTimeout = 300 * time.Millisecond
		c.DialTimeout = 300 * time.Millisecond
	})
	// A warm connection first, so both the reused and the fresh path hang.
	if _, err := s.Send(context.Background(), testMessage(1, "a@example.com")); err != nil {
		t.Fatal(err)
	}
	srv.Hang(true)
	for _, id := range []int64{2, 3} {
		start := time.Now()
		_, err := s.Send(context.Background(), testMessage(id, "b@example.com"))
		took := time.Since(start)
		var se *channels.SendError
		if !errors.As(err, &se) || se.Permanent || se.Code != "timeout" || channels.IsCanceled(err) {
			t.Fatalf("send %d: err = %v, want transient timeout", id, err)
		}
		if took > 1500*time.Millisecond {
			t.Errorf("send %d took %s, want about the 300ms timeout", id, took)
		}
	}
	srv.Hang(false)
	if _, err := s.Send(context.Background(), testMessage(4, "c@example.com")); err != nil {
		t.Fatalf("after the hang: %v", err)
	}
}

func TestCancelIsDistinguishable(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv, 1)
	srv.Hang(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Send(ctx, testMessage(1, "a@example.com"))
	if !errors.Is(err, context.DeadlineExceeded) || channels.IsPermanent(err) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("cancellation took %s", time.Since(start))
	}
	srv.Hang(false)
	if _, err := s.Send(context.Background(), testMessage(2, "a@example.com")); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestStartTLSAndAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("mailer", "s3cret"))
	s := newSender(t, srv, 1)
	if _, err := s.Send(context.Background(), testMessage(9, "tls@example.com")); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := srv.WaitMessages(t, 1, 5*time.Second)
	if !msgs[0].TLS {
		t.Error("message was not received over TLS")
	}

	// Without the test CA the certificate is rejected: transient, not sent.
	bad := newSender(t, srv, 1, func(c *email.Config) { c.TLSConfig = nil; c.Host = "127.0.0.1" })
	_, err := bad.Send(context.Background(), testMessage(10, "tls@example.com"))
	if err == nil || channels.IsPermanent(err) {
		t.Fatalf("untrusted cert: err = %v, want transient error", err)
	}
	// Wrong password: transient (configuration), never a hard bounce.
	wrong := newSender(t, srv, 1, func(c *email.Config) { c.Password = "nope" })
	_, err = wrong.Send(context.Background(), testMessage(11, "tls@example.com"))
	if err == nil || channels.IsPermanent(err) || channels.IsHardBounce(err) {
		t.Fatalf("bad auth: err = %v, want transient error", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("messages = %d, want 1", n)
	}
}

func TestRequiredTLSRefusesPlainServer(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv, 1, func(c *email.Config) { c.TLS = email.TLSRequired })
	if _, err := s.Send(context.Background(), testMessage(1, "a@example.com")); err == nil {
		t.Fatal("sent over a server without STARTTLS despite tls=required")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("messages = %d, want 0", n)
	}
}

func TestInvalidRecipientIsPermanent(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv, 1)
	_, err := s.Send(context.Background(), testMessage(1, "not an address"))
	if !channels.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	if srv.Connections() != 0 {
		t.Errorf("dialled for an invalid address")
	}
}

func TestNoReplyAfterBodyIsAmbiguous(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv, 1, func(c *email.Config) { c.IOTimeout = 300 * time.Millisecond })
	srv.HangData(true)
	defer srv.HangData(false)
	_, err := s.Send(context.Background(), testMessage(5, "a@example.com"))
	if !channels.IsAmbiguous(err) || channels.IsPermanent(err) {
		t.Fatalf("err = %v, want transient and ambiguous", err)
	}
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		url     string
		host    string
		port    int
		mode    email.TLSMode
		user    string
		wantErr bool
	}{
		{url: "smtp://relay.example", host: "relay.example", port: 587, mode: email.TLSStartTLS},
		{url: "smtp://u:p%40ss@relay.example:2525?tls=required", host: "relay.example", port: 2525,
			mode: email.TLSRequired, user: "u"},
		{url: "smtp://127.0.0.1:25?tls=none", host: "127.0.0.1", port: 25, mode: email.TLSNone},
		{url: "smtps://u:p@relay.example", host: "relay.example", port: 465, mode: email.TLSImplicit, user: "u"},
		{url: "smtp://relay.example?tls=maybe", wantErr: true},
		{url: "http://relay.example", wantErr: true},
		{url: "smtp://relay.example:99999", wantErr: true},
		{url: "smtp://:25", wantErr: true},
	}
	for _, c := range cases {
		cfg, err := email.ParseURL(c.url)
		if c.wantErr {
			if err == nil {
				t.Errorf("%s: want error", c.url)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if cfg.Host != c.host || cfg.Port != c.port || cfg.TLS != c.mode || cfg.Username != c.user {
			t.Errorf("%s: got %s:%d %s user %q", c.url, cfg.Host, cfg.Port, cfg.TLS, cfg.Username)
		}
	}
	cfg, _ := email.ParseURL("smtp://u:p%40ss@relay.example")
	if cfg.Password != "p@ss" {
		t.Errorf("password = %q", cfg.Password)
	}
}

func TestReconnectsAfterDroppedConnection(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv, 1)
	if _, err := s.Send(context.Background(), testMessage(1, "a@example.com")); err != nil {
		t.Fatal(err)
	}
	if n := srv.DropConnections(); n != 1 {
		t.Fatalf("dropped %d connections, want 1", n)
	}
	// The pooled session is dead; the sender notices before MAIL FROM and redials.
	if _, err := s.Send(context.Background(), testMessage(2, "b@example.com")); err != nil {
		t.Fatalf("send after drop: %v", err)
	}
	if srv.Connections() != 2 || len(srv.Messages()) != 2 {
		t.Errorf("connections = %d, messages = %d; want 2 and 2", srv.Connections(), len(srv.Messages()))
	}
}

// A blackholed relay behind the breaker: timeouts open it, it then rejects
// without touching the network, and a probe after OpenFor recovers.
func TestBreakerOverHangingRelay(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv, 1, func(c *email.Config) {
		c.IOTimeout = 150 * time.Millisecond
		c.DialTimeout = 150 * time.Millisecond
	})
	var skew atomic.Int64 // the breaker's clock runs ahead of the wall by this
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	ch := channels.Breaker(s, channels.BreakerConfig{Failures: 2, OpenFor: 300 * time.Millisecond, Now: now})
	srv.Hang(true)
	for i := range 2 {
		if _, err := ch.Send(context.Background(), testMessage(int64(i+1), "a@example.com")); err == nil ||
			errors.Is(err, channels.ErrOpen) {
			t.Fatalf("send %d: err = %v, want a timeout", i, err)
		}
	}
	conns := srv.Connections()
	start := time.Now()
	_, err := ch.Send(context.Background(), testMessage(3, "a@example.com"))
	if !errors.Is(err, channels.ErrOpen) || time.Since(start) > 20*time.Millisecond {
		t.Fatalf("err = %v after %s, want a fast ErrOpen", err, time.Since(start))
	}
	if srv.Connections() != conns {
		t.Error("an open breaker reached the relay")
	}
	srv.Hang(false)
	skew.Add(int64(350 * time.Millisecond)) // past OpenFor: the next send is the probe
	if _, err := ch.Send(context.Background(), testMessage(4, "a@example.com")); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if got := srv.WaitMessages(t, 1, time.Second); got[len(got)-1].MessageID() != "tidings.4@shop.example" {
		t.Errorf("delivered %q", got[len(got)-1].MessageID())
	}
}

// TestFromNameOverridesTheConfiguredName sends messages with and without a
// from_name to a real SMTP server and reads the From header as received: the
// message's name wins over the configured one, at the configured address;
// accents are RFC 2047-encoded, quotes survive, and a line break from a
// template neither splits the header nor adds one.
func TestFromNameOverridesTheConfiguredName(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv, 1)
	cases := []struct{ fromName, want string }{
		{"", "Shop News"},
		{"Café \"Chez Lou\"", "Café \"Chez Lou\""},
		{"  Spring\r\nBcc: victim@example.com ", "Spring Bcc: victim@example.com"},
		{"日本のお店", "日本のお店"},
	}
	for i, c := range cases {
		m := testMessage(int64(i+1), fmt.Sprintf("to%d@example.com", i))
		m.FromName = c.fromName
		if _, err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("send %q: %v", c.fromName, err)
		}
	}
	msgs := srv.WaitMessages(t, len(cases), 5*time.Second)
	for i, c := range cases {
		got := msgs[i]
		h, err := got.Header()
		if err != nil {
			t.Fatal(err)
		}
		raw := h.Get("From")
		if strings.ContainsFunc(raw, func(r rune) bool { return r > 0x7e }) || h.Get("Bcc") != "" {
			t.Errorf("from_name %q: raw From %q (Bcc %q): want ASCII, no added header", c.fromName, raw, h.Get("Bcc"))
		}
		from, err := h.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Name != c.want || from[0].Address != "news@shop.example" {
			t.Errorf("from_name %q: From %q = %v, %v; want %q <news@shop.example>", c.fromName, raw, from, err, c.want)
		}
		if got.From != "news@shop.example" {
			t.Errorf("from_name %q: envelope sender %q, want news@shop.example", c.fromName, got.From)
		}
	}
}

// TestParseURLErrorsHideThePassword: an SMTP URL that does not parse is
// reported without its password (url.Parse's own error quotes the URL whole,
// and an unescaped "/" makes part of the password its "port").
func TestParseURLErrorsHideThePassword(t *testing.T) {
	for _, raw := range []string{
		"smtp://mailer:s3cr/et-pw@relay.example:587",
		"smtp://mailer:s3cr#et-pw@relay.example",
		"smtp://mailer:s3cret-pw@relay.example:5x7",
		"mailer:s3cret-pw@relay.example:587",
	} {
		_, err := email.ParseURL(raw)
		if err == nil {
			t.Errorf("%s: no error", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cr") || strings.Contains(err.Error(), "et-pw") {
			t.Errorf("%s: error shows the password: %v", raw, err)
		}
	}
	if got := email.RedactURL("smtp://mailer:s3cr/et-pw@relay.example:587"); got != "smtp://xxxxx@relay.example:587" {
		t.Errorf("RedactURL of an unparsable URL = %q", got)
	}
	if got := email.RedactURL("smtp://mailer:pw@relay.example"); got != "smtp://mailer:xxxxx@relay.example" {
		t.Errorf("RedactURL = %q", got)
	}
}
