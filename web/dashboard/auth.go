package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// CookieName is the session cookie the login form sets.
const CookieName = "tidings_admin"

// sessionTTL is how long a login lasts.
const sessionTTL = 12 * time.Hour

// guard admits a request carrying the admin token: either the header
// "Authorization: Bearer <token>" (scripts, curl) or the session cookie the
// login form sets (browsers cannot add a header to a link they follow).
//
// The cookie does not hold the token: it holds an expiry, a random session
// id and an HMAC of both keyed by the token, so it lapses after sessionTTL,
// every session ends when the token changes, and logout revokes its id.
type guard struct {
	bearer  []byte
	key     []byte
	now     func() time.Time
	revoked Revocations
	// logins limits wrong tokens posted to the login form, per client.
	logins *clientLimits
}

func newGuard(token string, now func() time.Time, revoked Revocations) *guard {
	k := sha256.Sum256([]byte("tidings dashboard session\x00" + token))
	if revoked == nil {
		revoked = newMemoryRevocations(now)
	}
	return &guard{bearer: []byte("Bearer " + token), key: k[:], now: now, revoked: revoked,
		logins: newClientLimits(now)}
}

// admits reports whether r carries the token or a valid session cookie. A
// request that changes state on a session cookie must also come from this
// server's own pages (sameOrigin): the cookie alone is sent by any site.
func (g *guard) admits(r *http.Request) bool {
	if h := r.Header.Get("Authorization"); h != "" {
		return subtle.ConstantTimeCompare([]byte(h), g.bearer) == 1
	}
	c, err := r.Cookie(CookieName)
	if err != nil {
		return false
	}
	id, ok := g.validSession(c.Value)
	if !ok || (!safeMethod(r.Method) && !sameOrigin(r)) {
		return false
	}
	gone, err := g.revoked.Revoked(r.Context(), id)
	return err == nil && !gone
}

// token reports whether s is the admin token, in constant time.
func (g *guard) token(s string) bool {
	return subtle.ConstantTimeCompare([]byte("Bearer "+s), g.bearer) == 1
}

func (g *guard) sign(payload string) string {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newSession returns a cookie value valid for sessionTTL:
// "<expiry>.<session id>.<mac>".
func (g *guard) newSession() string {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		panic("dashboard: no randomness for a session id: " + err.Error())
	}
	payload := strconv.FormatInt(g.now().Add(sessionTTL).Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(id[:])
	return payload + "." + g.sign(payload)
}

// validSession checks a cookie value's MAC and expiry and returns its
// session id (revocation is checked by the caller).
func (g *guard) validSession(v string) (string, bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return "", false
	}
	payload, mac := v[:i], v[i+1:]
	expS, id, ok := strings.Cut(payload, ".")
	if !ok || id == "" {
		return "", false
	}
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil {
		return "", false
	}
	return id, hmac.Equal([]byte(mac), []byte(g.sign(payload))) && g.now().Unix() < exp
}

// sessionExpiry reads the expiry of a valid cookie value.
func sessionExpiry(v string) time.Time {
	expS, _, _ := strings.Cut(v, ".")
	exp, _ := strconv.ParseInt(expS, 10, 64)
	return time.Unix(exp, 0)
}

// sessionCookie is the cookie set at login (value and lifetime) or cleared
// at logout (empty value).
func sessionCookie(r *http.Request, value string) *http.Cookie {
	c := &http.Cookie{Name: CookieName, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(sessionTTL / time.Second)
	}
	return c
}

// isHTTPS reports whether the browser reached us over TLS, directly or
// through a proxy that says so.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// safeNext returns where to go after login: a path of the dashboard or the
// monitoring UI on this server, never another site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(next, "//") ||
		strings.Contains(next, `\`) {
		return "/dashboard"
	}
	p := path.Clean(u.Path)
	for _, root := range []string{"/dashboard", "/monitoring"} {
		if p == root || strings.HasPrefix(p, root+"/") {
			if u.RawQuery != "" {
				return p + "?" + u.RawQuery
			}
			return p
		}
	}
	return "/dashboard"
}
