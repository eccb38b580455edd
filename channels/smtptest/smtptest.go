// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) inside
// a test process. It records every accepted message, counts connections, can
// be told to reject recipients with 4xx/5xx replies or to hang, and can offer
// STARTTLS with a self-signed certificate and require AUTH PLAIN. The email
// channel tests and the delivery worker tests share it.
package smtptest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From     string
	To       []string
	Data     []byte // the raw RFC 5322 message as received
	TLS      bool   // received over a TLS (STARTTLS) session
	Received time.Time
}

// Header parses the message header.
func (m Message) Header() (mail.Header, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return nil, fmt.Errorf("smtptest: parse message: %w", err)
	}
	return msg.Header, nil
}

// MessageID returns the Message-ID header value without angle brackets, or
// "" when the message has none or does not parse.
func (m Message) MessageID() string {
	h, err := m.Header()
	if err != nil {
		return ""
	}
	return strings.Trim(h.Get("Message-ID"), "<> ")
}

// Option configures a Server.
type Option func(*Server)

// WithTLS makes the server offer STARTTLS with a freshly generated
// self-signed certificate for 127.0.0.1 and localhost; RootCAs returns the
// pool that trusts it.
func WithTLS() Option { return func(s *Server) { s.tls = true } }

// WithAuth requires AUTH PLAIN with these credentials before MAIL FROM.
func WithAuth(username, password string) Option {
	return func(s *Server) { s.user, s.pass = username, password }
}

// WithoutBodies keeps only the envelope of each message (From, To, time), so
// a benchmark of 100,000 messages measures the sender, not this server's
// memory.
func WithoutBodies() Option { return func(s *Server) { s.noBodies = true } }

// Server is a running in-process SMTP server. All methods are safe for
// concurrent use.
type Server struct {
	srv      *smtp.Server
	ln       net.Listener
	tls      bool
	noBodies bool
	user     string
	pass     string
	pool     *x509.CertPool

	mu       sync.Mutex
	messages []Message
	conns    int
	live     map[net.Conn]struct{}
	failNext []reply
	rules    map[string]*rule
	refuse   int // non-zero: every RCPT TO answers this code
	refused  int
	hang     chan struct{} // non-nil while hanging; closed to release
	hangData chan struct{} // like hang, only after a message body arrived
	heldData int           // sessions blocked by hangData right now
	closed   chan struct{}
	notify   chan struct{} // closed and replaced on every accepted message
}

// Start starts a server on 127.0.0.1 on a free port and stops it when the
// test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{rules: map[string]*rule{}, live: map[net.Conn]struct{}{}, closed: make(chan struct{}), notify: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	s.srv = smtp.NewServer(&backend{s: s})
	s.srv.Domain = "smtptest.local"
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.ErrorLog = nopLogger{}
	s.srv.AllowInsecureAuth = true
	if s.tls {
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("smtptest: %v", err)
		}
		s.pool = pool
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.ln = &countingListener{Listener: ln, s: s}
	go func() { _ = s.srv.Serve(s.ln) }()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and releases hanging sessions.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		return
	default:
	}
	close(s.closed)
	s.mu.Unlock()
	_ = s.srv.Close()
}

// Addr returns host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host returns the listening IP.
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port returns the listening port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// URL returns an smtp:// URL for the server: tls=required when it offers
// STARTTLS, tls=none otherwise, with the AUTH credentials when set.
func (s *Server) URL() string {
	mode := "none"
	if s.tls {
		mode = "required"
	}
	userinfo := ""
	if s.user != "" {
		userinfo = s.user + ":" + s.pass + "@"
	}
	return "smtp://" + userinfo + s.Addr() + "?tls=" + mode
}

// RootCAs returns a pool trusting the server's self-signed certificate (nil
// without WithTLS).
func (s *Server) RootCAs() *x509.CertPool { return s.pool }

// Messages returns a copy of the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Connections returns how many TCP connections the server has accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// WaitMessages blocks until at least n messages were accepted, failing the
// test after timeout, and returns them.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			msgs := append([]Message(nil), s.messages...)
			s.mu.Unlock()
			return msgs
		}
		notify := s.notify
		s.mu.Unlock()
		select {
		case <-notify:
		case <-deadline.C:
			t.Fatalf("smtptest: got %d messages, want %d within %s", len(s.Messages()), n, timeout)
		}
	}
}

// Hang makes the server stop answering (EHLO, MAIL, RCPT and DATA block;
// NOOP still answers) while on is true, like a blackholed relay. Hang(false)
// releases the blocked sessions.
func (s *Server) Hang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.hang == nil:
		s.hang = make(chan struct{})
	case !on && s.hang != nil:
		close(s.hang)
		s.hang = nil
	}
}

// HangData makes the server read each message body and then never answer
// the final "." while on is true: the sender cannot know whether the message
// was accepted. HangData(false) releases the blocked sessions, which then
// reject the message with 451 (nothing is recorded).
func (s *Server) HangData(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.hangData == nil:
		s.hangData = make(chan struct{})
	case !on && s.hangData != nil:
		close(s.hangData)
		s.hangData = nil
	}
}

// wait blocks while the server hangs.
func (s *Server) wait() error {
	s.mu.Lock()
	h := s.hang
	s.mu.Unlock()
	return s.block(h)
}

// waitData blocks while the server hangs after DATA; it reports whether it
// blocked at all.
func (s *Server) waitData() (bool, error) {
	s.mu.Lock()
	h := s.hangData
	if h != nil {
		s.heldData++
		defer func() { s.mu.Lock(); s.heldData--; s.mu.Unlock() }()
	}
	s.mu.Unlock()
	return h != nil, s.block(h)
}

// HeldInData returns how many sessions HangData holds right now (each has
// sent a whole message body and waits for the reply): a test waits until
// every in-flight send is held instead of sleeping.
func (s *Server) HeldInData() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heldData
}

func (s *Server) block(h chan struct{}) error {
	if h == nil {
		return nil
	}
	select {
	case <-h:
		return nil
	case <-s.closed:
		return io.EOF
	}
}

func (s *Server) accept(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noBodies {
		m.Data = nil
	}
	s.messages = append(s.messages, m)
	close(s.notify)
	s.notify = make(chan struct{})
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	l.s.conns++
	l.s.live[tc] = struct{}{}
	l.s.mu.Unlock()
	return tc, nil
}

// trackedConn removes itself from the live set when closed. It also holds
// the server's replies back until the session next waits for input, as
// Postfix and other pipelining servers do: the replies to pipelined
// commands (MAIL, RCPT, DATA) leave in one write, not one write each, so a
// benchmark does not charge the client for the test server's syscalls.
// Every reply still goes out before the server waits for anything more.
type trackedConn struct {
	net.Conn
	s *Server

	mu  sync.Mutex
	out []byte // replies not yet written
}

func (c *trackedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out = append(c.out, p...)
	if len(c.out) >= 64<<10 {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *trackedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	err := c.flushLocked()
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *trackedConn) flushLocked() error {
	if len(c.out) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.out)
	c.out = c.out[:0]
	return err
}

func (c *trackedConn) Close() error {
	c.mu.Lock()
	_ = c.flushLocked() // the goodbye (221) or last reply, when there is one
	c.mu.Unlock()
	c.s.mu.Lock()
	delete(c.s.live, c)
	c.s.mu.Unlock()
	return c.Conn.Close()
}

// DropConnections closes every open client connection without a goodbye,
// like a relay restart or an idle-timeout, and returns how many it closed.
func (s *Server) DropConnections() int {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.live))
	for c := range s.live {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	return len(conns)
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}
