package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// conn is one established SMTP session. raw is the TCP (or TLS) connection
// under it, kept so a cancelled send can be interrupted by closing it.
type conn struct {
	client   *smtp.Client
	raw      net.Conn
	lastUsed time.Time
}

// connSlot carries the dialled net.Conn out of go-mail's dial path, and lets
// the dial timeout abort a greeting, STARTTLS or AUTH that hangs.
type connSlot struct {
	mu      sync.Mutex
	raw     net.Conn
	aborted bool
}

func (s *connSlot) set(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw = c
	if s.aborted {
		_ = c.Close()
	}
}

func (s *connSlot) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aborted = true
	if s.raw != nil {
		_ = s.raw.Close()
	}
}

type slotKey struct{}

// errDialTimeout reports that connecting and setting up a session took longer
// than Config.DialTimeout.
var errDialTimeout = errors.New("dial timeout: no usable session in time")

// pool keeps at most size connections: slots bounds how many sends run at
// once (each holds one connection), idle holds the connections not in use.
type pool struct {
	slots chan struct{}

	mu     sync.Mutex
	idle   []*conn
	closed bool

	dials int // connections opened, for tests and metrics
}

func newPool(size int) *pool {
	return &pool{slots: make(chan struct{}, size)}
}

// acquire waits for a free slot, then returns an idle connection (or nil,
// meaning the caller must dial one).
func (p *pool) acquire(ctx context.Context, idleTimeout time.Duration) (*conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if time.Since(c.lastUsed) < idleTimeout {
			return c, nil
		}
		go c.close() // stale: a polite QUIT off the hot path
	}
	return nil, nil
}

// release returns the slot, and c to the idle list unless it is nil.
func (p *pool) release(c *conn) {
	if c != nil {
		c.lastUsed = time.Now()
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.close()
		} else {
			p.idle = append(p.idle, c)
			p.mu.Unlock()
		}
	}
	<-p.slots
}

// closeAll closes idle connections and makes release close the busy ones.
func (p *pool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

func (p *pool) countDial() {
	p.mu.Lock()
	p.dials++
	p.mu.Unlock()
}

// Dials reports how many SMTP connections have been opened so far.
func (s *Sender) Dials() int {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	return s.pool.dials
}

// abort drops a broken session without a goodbye.
func (c *conn) abort() { _ = c.raw.Close() }

// close ends the session with QUIT (bounded by the connection deadline) and
// closes the socket.
func (c *conn) close() {
	_ = c.raw.SetDeadline(time.Now().Add(time.Second))
	_ = c.client.Quit()
	_ = c.raw.Close()
}

// dialFunc returns the go-mail dial function: a plain TCP dial, or a TLS dial
// for implicit TLS, that records the connection in the context's connSlot.
func dialFunc(implicitTLS bool, tlsConfig *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var (
			c   net.Conn
			err error
		)
		if implicitTLS {
			d := tls.Dialer{Config: tlsConfig}
			c, err = d.DialContext(ctx, network, addr)
		} else {
			var d net.Dialer
			c, err = d.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		if slot, ok := ctx.Value(slotKey{}).(*connSlot); ok {
			slot.set(c)
		}
		return c, nil
	}
}

// dial opens, greets, secures and authenticates a new SMTP session.
func (s *Sender) dial(ctx context.Context) (*conn, error) {
	slot := &connSlot{}
	dctx, cancel := context.WithTimeout(context.WithValue(ctx, slotKey{}, slot), s.cfg.DialTimeout)
	defer cancel()
	stop := context.AfterFunc(dctx, slot.abort)
	client, err := s.client.DialToSMTPClientWithContext(dctx)
	if !stop() {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("dial %s:%d: %w", s.cfg.Host, s.cfg.Port, errDialTimeout)
	}
	if err != nil {
		slot.abort()
		return nil, fmt.Errorf("dial %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
	}
	s.pool.countDial()
	return &conn{client: client, raw: slot.raw, lastUsed: time.Now()}, nil
}
