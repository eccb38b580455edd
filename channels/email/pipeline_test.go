package email_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/channels/email"
)

// scriptedServer is a minimal SMTP server that logs each command with
// whether more client input was already waiting when it was read (the
// client did not wait for the reply: it pipelined), and refuses the
// recipients in refuse with a 550 5.1.1.
type scriptedServer struct {
	ln         net.Listener
	pipelining bool
	refuse     string

	mu   sync.Mutex
	log  []string // "MAIL+" : MAIL read with input waiting behind it
	msgs int
}

func startScripted(t *testing.T, pipelining bool) *scriptedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedServer{ln: ln, pipelining: pipelining}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *scriptedServer) url() string { return "smtp://" + s.ln.Addr().String() + "?tls=none" }

func (s *scriptedServer) serve(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func(line string) { _, _ = w.WriteString(line + "\r\n"); _ = w.Flush() }
	reply("220 scripted ESMTP")
	badRcpt := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		if i := strings.IndexByte(verb, ':'); i > 0 {
			verb = verb[:i]
		}
		mark := ""
		if r.Buffered() > 0 {
			mark = "+"
		}
		s.mu.Lock()
		s.log = append(s.log, verb+mark)
		s.mu.Unlock()
		switch verb {
		case "EHLO":
			if s.pipelining {
				reply("250-scripted\r\n250-ENHANCEDSTATUSCODES\r\n250 PIPELINING")
			} else {
				reply("250-scripted\r\n250 ENHANCEDSTATUSCODES")
			}
		case "MAIL", "NOOP", "RSET":
			badRcpt = false
			reply("250 2.0.0 OK")
		case "RCPT":
			if s.refuse != "" && strings.Contains(line, s.refuse) {
				badRcpt = true
				reply("550 5.1.1 no such user")
				continue
			}
			reply("250 2.1.5 OK")
		case "DATA":
			if badRcpt {
				reply("554 5.5.1 no valid recipients")
				continue
			}
			reply("354 go ahead")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			s.mu.Lock()
			s.msgs++
			s.mu.Unlock()
			reply("250 2.0.0 queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 5.5.2 unknown command")
		}
	}
}

func (s *scriptedServer) snapshot() ([]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...), s.msgs
}

func scriptedSender(t *testing.T, srv *scriptedServer) *email.Sender {
	t.Helper()
	cfg, err := email.ParseURL(srv.url())
	if err != nil {
		t.Fatal(err)
	}
	cfg.From, cfg.PoolSize, cfg.DialTimeout, cfg.IOTimeout = "news@shop.example", 1, 2*time.Second, 2*time.Second
	s, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestPipelinesWhenTheServerAllows sends through a server with and without
// PIPELINING: with it, MAIL FROM, RCPT TO and DATA arrive together; without
// it each command waits for its reply. Either way a refused recipient is a
// hard bounce and the session carries on with the next message.
func TestPipelinesWhenTheServerAllows(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			srv := startScripted(t, pipelining)
			srv.refuse = "gone@example.com"
			s := scriptedSender(t, srv)
			ctx := context.Background()
			for i, to := range []string{"a@example.com", "gone@example.com", "b@example.com"} {
				_, err := s.Send(ctx, testMessage(int64(i+1), to))
				if to == "gone@example.com" {
					if !channels.IsHardBounce(err) {
						t.Fatalf("send to a refused recipient = %v, want a hard bounce", err)
					}
					if strings.Contains(err.Error(), "gone@example.com") {
						t.Fatalf("error shows the address in clear: %v", err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			log, msgs := srv.snapshot()
			if msgs != 2 {
				t.Fatalf("server queued %d messages, want 2", msgs)
			}
			if s.Dials() != 1 {
				t.Fatalf("sender dialled %d times, want 1 (the refusal keeps the session)", s.Dials())
			}
			got := strings.Join(log, " ")
			// Unpipelined, the refused recipient ends its transaction before DATA.
			want, times := "MAIL RCPT DATA", 2
			if pipelining {
				want, times = "MAIL+ RCPT+ DATA", 3
			}
			if n := strings.Count(got, want); n != times {
				t.Fatalf("commands %q: %q seen %d times, want %d", got, want, n, times)
			}
			if !strings.Contains(got, "RSET") {
				t.Fatalf("commands %q: no RSET after the refused recipient", got)
			}
		})
	}
}
