package dashboard

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Revocations remembers sessions ended by logout until they would have
// expired, so a copied cookie stops working when its owner logs out. Share
// one across the processes that serve the dashboard (cmd/tidings keeps it
// in Redis); the default is in this process's memory.
type Revocations interface {
	Revoke(ctx context.Context, session string, until time.Time) error
	Revoked(ctx context.Context, session string) (bool, error)
}

// memoryRevocations is Revocations for one process.
type memoryRevocations struct {
	mu    sync.Mutex
	until map[string]time.Time
	now   func() time.Time
}

func newMemoryRevocations(now func() time.Time) *memoryRevocations {
	return &memoryRevocations{until: map[string]time.Time{}, now: now}
}

func (m *memoryRevocations) Revoke(_ context.Context, session string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for s, u := range m.until { // expired sessions need no memory
		if !u.After(now) {
			delete(m.until, s)
		}
	}
	m.until[session] = until
	return nil
}

func (m *memoryRevocations) Revoked(_ context.Context, session string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.until[session]
	return ok, nil
}

// clientLimits throttles wrong login tokens per client address: one
// client's guesses never lock another (the admin) out.
type clientLimits struct {
	mu      sync.Mutex
	clients map[string]*rate.Limiter
	now     func() time.Time
}

// loginBurst wrong tokens a client may post at once, then one a second.
const loginBurst = 10

// maxClients bounds the memory of the throttle; past it, the clients whose
// limiters are full again are forgotten.
const maxClients = 10000

func newClientLimits(now func() time.Time) *clientLimits {
	return &clientLimits{clients: map[string]*rate.Limiter{}, now: now}
}

// client is the request's remote host (without the port).
func client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// blocked reports whether the client has no attempt left.
func (c *clientLimits) blocked(who string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.clients[who]
	return ok && l.TokensAt(c.now()) < 1
}

// failed spends one attempt of the client.
func (c *clientLimits) failed(who string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	l, ok := c.clients[who]
	if !ok {
		if len(c.clients) >= maxClients {
			for k, v := range c.clients {
				if v.TokensAt(now) >= loginBurst {
					delete(c.clients, k)
				}
			}
		}
		l = rate.NewLimiter(rate.Every(time.Second), loginBurst)
		c.clients[who] = l
	}
	l.AllowN(now, 1)
}

// sameOrigin reports whether a state-changing request comes from a page of
// this server: its Origin (or, when a browser sends none, its Referer)
// names the host the request was sent to. A cross-site form or script
// carries the session cookie but not this server's origin.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		src = r.Header.Get("Referer")
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return false
	}
	scheme := "http"
	if isHTTPS(r) {
		scheme = "https"
	}
	return u.Host == r.Host && u.Scheme == scheme
}

// safeMethod is true for requests that change nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
