// Package smstest runs an HTTP server in the test process that speaks the
// Twilio Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json with
// basic auth). It records accepted messages and every request's arrival
// time, and can be told to answer errors (429 with Retry-After, 5xx, Twilio
// error codes such as 21211 or 21610) or to answer slowly. The SMS channel
// tests and the delivery worker tests share it.
package smstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials the server accepts.
const (
	AccountSID = "ACtidings0000000000000000000000test"
	AuthToken  = "smstest-auth-token"
)

// Message is one message the server accepted.
type Message struct {
	SID                 string
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	Received            time.Time
}

// Reply is an error answer: HTTP status, Twilio error code (0 for none),
// message, and an optional Retry-After header value.
type Reply struct {
	Status     int
	Code       int
	Message    string
	RetryAfter string
}

// Common replies.
var (
	InvalidNumber = Reply{Status: 400, Code: 21211, Message: "The 'To' number is not a valid phone number."}
	Unsubscribed  = Reply{Status: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"}
	ServerError   = Reply{Status: 500, Code: 20500, Message: "Internal Server Error"}
)

// TooManyRequests is a 429 with the given Retry-After header value.
func TooManyRequests(retryAfter string) Reply {
	return Reply{Status: 429, Code: 20429, Message: "Too Many Requests", RetryAfter: retryAfter}
}

// Server is a running Twilio-compatible test server.
type Server struct {
	// URL is the API base URL to put in sms.TwilioConfig.BaseURL.
	URL string

	hs *httptest.Server

	mu       sync.Mutex
	messages []Message
	requests []time.Time
	failNext []Reply
	numbers  map[string]Reply
	delay    time.Duration
	notify   chan struct{}
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{numbers: map[string]Reply{}, notify: make(chan struct{})}
	s.hs = httptest.NewServer(http.HandlerFunc(s.handle))
	s.URL = s.hs.URL
	t.Cleanup(s.hs.Close)
	return s
}

// Close stops the server now (it is also stopped when the test ends).
func (s *Server) Close() { s.hs.Close() }

// FailNext makes the next n requests (with valid credentials) answer r.
func (s *Server) FailNext(r Reply, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, r)
	}
}

// FailNumber makes every message to the number answer r.
func (s *Server) FailNumber(to string, r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.numbers[to] = r
}

// Delay makes every answer wait d (0 to stop); a message is recorded as
// accepted before the wait, like a provider that is slow to reply.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Messages returns the accepted messages, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Requests returns the arrival time of every request, accepted or not.
func (s *Server) Requests() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.requests...)
}

// WaitMessages blocks until at least n messages were accepted, failing the
// test after timeout.
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
			t.Fatalf("smstest: got %d messages, want %d within %s", len(s.Messages()), n, timeout)
		}
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, time.Now())
	s.mu.Unlock()
	want := "/2010-04-01/Accounts/" + AccountSID + "/Messages.json"
	if r.Method != http.MethodPost || r.URL.Path != want {
		writeError(w, Reply{Status: 404, Code: 20404, Message: "The requested resource was not found"})
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != AccountSID || pass != AuthToken {
		writeError(w, Reply{Status: 401, Code: 20003, Message: "Authenticate"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, Reply{Status: 400, Code: 21100, Message: "Bad form"})
		return
	}
	m := Message{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"),
		MessagingServiceSID: r.PostForm.Get("MessagingServiceSid"), Body: r.PostForm.Get("Body"),
		Received: time.Now()}
	if m.To == "" || (m.From == "" && m.MessagingServiceSID == "") || m.Body == "" {
		writeError(w, Reply{Status: 400, Code: 21604, Message: "A 'To', 'From' and 'Body' are required"})
		return
	}
	reply, fail, delay := s.decide(m)
	if !fail {
		m.SID = s.accept(m)
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if fail {
		writeError(w, reply)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": m.SID, "to": m.To, "from": m.From,
		"body": m.Body, "status": "queued", "account_sid": AccountSID})
}

// decide picks the answer for a valid request.
func (s *Server) decide(m Message) (Reply, bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) > 0 {
		r := s.failNext[0]
		s.failNext = s.failNext[1:]
		return r, true, s.delay
	}
	if r, ok := s.numbers[m.To]; ok {
		return r, true, s.delay
	}
	return Reply{}, false, s.delay
}

func (s *Server) accept(m Message) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.SID = fmt.Sprintf("SM%032d", len(s.messages)+1)
	s.messages = append(s.messages, m)
	close(s.notify)
	s.notify = make(chan struct{})
	return m.SID
}

func writeError(w http.ResponseWriter, r Reply) {
	if r.RetryAfter != "" {
		w.Header().Set("Retry-After", r.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": r.Code, "message": r.Message,
		"more_info": "https://www.twilio.com/docs/errors/" + strings.TrimSpace(fmt.Sprint(r.Code)),
		"status":    r.Status})
}
