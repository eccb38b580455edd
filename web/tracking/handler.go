package tracking

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/web/openapi"
)

// DefaultMachineWindow is how soon after the send a click is taken for a
// link scanner's: no person opens a message and clicks within 10 seconds
// of its arrival, security gateways do.
const DefaultMachineWindow = 10 * time.Second

// Options configure Handler. Tokens (with a valid key) and Recorder are
// required.
type Options struct {
	Tokens   Tokens
	Recorder *Recorder
	// Machines tells machine fetches from people's (default: machines.txt).
	Machines *Machines
	// MachineWindow: a click sooner than this after the send is a
	// machine's (0: DefaultMachineWindow; negative: no such rule;
	// TIDINGS_TRACKING_MACHINE_WINDOW).
	MachineWindow time.Duration
	// TrustedProxies are the reverse proxies in front of Tidings: a request
	// from one of them is taken to come from the last address of its
	// X-Forwarded-For that is not one of them.
	TrustedProxies []netip.Prefix
	Now            func() time.Time
	Logger         *slog.Logger
}

type handler struct {
	opts Options
	mux  *openapi.Mux
}

// Handler serves GET (and HEAD) /c/{token}, the signed redirect of a
// tracked link, and /o/{token}, the open pixel.
func Handler(o Options) (openapi.Router, error) {
	if err := o.Tokens.Signer.Check(); err != nil {
		return nil, fmt.Errorf("tracking: %w", err)
	}
	if o.Recorder == nil {
		return nil, errors.New("tracking: a recorder is required")
	}
	if o.Machines == nil {
		o.Machines = DefaultMachines()
	}
	if o.MachineWindow == 0 {
		o.MachineWindow = DefaultMachineWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	h := &handler{opts: o, mux: &openapi.Mux{}}
	h.mux.HandleFunc("GET /c/{token}", h.click)
	h.mux.HandleFunc("GET /o/{token}", h.open)
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Patterns lists the routes served (openapi.Router).
func (h *handler) Patterns() []string { return h.mux.Patterns() }

// click redirects to the signed URL, exactly as written in the message
// (its query and fragment kept), and records the click; a honeypot link
// answers an empty page. An invalid token answers 400 and redirects nowhere.
func (h *handler) click(w http.ResponseWriter, r *http.Request) {
	l, err := h.opts.Tokens.Verify(r.PathValue("token"))
	if err != nil || l.Kind == KindOpen {
		h.invalid(w)
		return
	}
	now := h.opts.Now()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the token stays here
	if l.Kind == KindHoneypot {
		h.opts.Recorder.Record(Hit{Link: l, At: now, Machine: "honeypot link"})
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if u, err := url.Parse(l.URL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		h.invalid(w) // signed by us, so never; kept as the last guard against an open redirect
		return
	}
	h.opts.Recorder.Record(Hit{Link: l, At: now, Machine: h.machine(r, l, now)})
	w.Header().Set("Location", l.URL)
	w.WriteHeader(http.StatusFound)
}

// gif is a transparent 1x1 GIF.
var gif = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00" +
	"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b")

// open answers the pixel, never cached, and records the open.
func (h *handler) open(w http.ResponseWriter, r *http.Request) {
	l, err := h.opts.Tokens.Verify(r.PathValue("token"))
	if err != nil || l.Kind != KindOpen {
		h.invalid(w)
		return
	}
	now := h.opts.Now()
	h.opts.Recorder.Record(Hit{Link: l, At: now, Machine: h.machine(r, l, now)})
	w.Header().Set("Content-Type", "image/gif")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate, private, max-age=0")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Expires", "0")
	w.Write(gif)
}

func (h *handler) invalid(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	w.Write([]byte("This link is not valid: it was changed or cut short. Open the link from the original message.\n"))
}

// machine says why a fetch is a machine's, or "" for a person's.
func (h *handler) machine(r *http.Request, l Link, now time.Time) string {
	if why := h.opts.Machines.Match(l.Kind, r.UserAgent(), h.clientAddr(r)); why != "" {
		return why
	}
	if l.Kind == KindClick {
		if r.Method == http.MethodHead {
			return "HEAD request (a link checker)"
		}
		if now.Sub(l.SentAt) < h.opts.MachineWindow {
			return fmt.Sprintf("clicked within %s of the send", h.opts.MachineWindow)
		}
	}
	return ""
}

// clientAddr is the address the request came from, through trusted proxies.
func (h *handler) clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	if !h.trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}
		}
		if !h.trusted(a) {
			return a
		}
	}
	return addr
}

func (h *handler) trusted(a netip.Addr) bool {
	for _, p := range h.opts.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}
