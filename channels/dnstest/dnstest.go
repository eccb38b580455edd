// Package dnstest is a DNS server for tests: it answers TXT queries from a
// map over UDP on a loopback port, so the checks of SPF, DKIM and DMARC
// records run against real DNS messages and a real resolver.
package dnstest

import (
	"context"
	"net"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is a running test DNS server.
type Server struct {
	pc net.PacketConn
}

// Start serves records (name without the final dot -> TXT values) until
// the test ends; a name it does not hold is NXDOMAIN.
func Start(t testing.TB, records map[string][]string) *Server {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go serve(pc, records)
	return &Server{pc: pc}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.pc.LocalAddr().String() }

// Resolver returns a *net.Resolver that asks only this server.
func (s *Server) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.Addr())
	}}
}

func serve(pc net.PacketConn, records map[string][]string) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var q dnsmessage.Message
		if q.Unpack(buf[:n]) != nil || len(q.Questions) != 1 {
			continue
		}
		resp := answer(q, records)
		out, err := resp.Pack()
		if err == nil {
			_, _ = pc.WriteTo(out, from)
		}
	}
}

func answer(q dnsmessage.Message, records map[string][]string) dnsmessage.Message {
	question := q.Questions[0]
	resp := dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true, Authoritative: true}, Questions: q.Questions}
	recs, ok := records[strings.TrimSuffix(question.Name.String(), ".")]
	if !ok {
		resp.RCode = dnsmessage.RCodeNameError
		return resp
	}
	if question.Type != dnsmessage.TypeTXT {
		return resp
	}
	for _, r := range recs {
		var parts []string // one TXT string holds at most 255 bytes
		for len(r) > 255 {
			parts, r = append(parts, r[:255]), r[255:]
		}
		resp.Answers = append(resp.Answers, dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: question.Name, Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET, TTL: 60},
			Body:   &dnsmessage.TXTResource{TXT: append(parts, r)}})
	}
	return resp
}
