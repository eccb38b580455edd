package dashboard

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// CookieName is the session cookie the login form sets.
const CookieName = "tidings_admin"

// sessionTTL is how long a login lasts.
const sessionTTL = 12 * time.Hour

// guard admits a request carrying the admin token: either the header
// "Authorization: Bearer <token>" (scripts, curl) or the session cookie the
// login form sets (browsers cannot add a header to a link they follow).
//
// The cookie does not hold the token: it holds an expiry and an HMAC of it
// keyed by the token, so it lapses after sessionTTL and every session ends
// when the token changes.
type guard struct {
	bearer []byte
	key    []byte
	now    func() time.Time
	// logins limits wrong tokens posted to the login form.
	logins *rate.Limiter
}

func newGuard(token string, now func() time.Time) *guard {
	k := sha256.Sum256([]byte("tidings dashboard session\x00" + token))
	return &guard{bearer: []byte("Bearer " + token), key: k[:], now: now,
		logins: rate.NewLimiter(rate.Every(time.Second), 10)}
}

// admits reports whether r carries the token or a valid session cookie.
func (g *guard) admits(r *http.Request) bool {
	if h := r.Header.Get("Authorization"); h != "" {
		return subtle.ConstantTimeCompare([]byte(h), g.bearer) == 1
	}
	c, err := r.Cookie(CookieName)
	return err == nil && g.validSession(c.Value)
}

// token reports whether s is the admin token, in constant time.
func (g *guard) token(s string) bool {
	return subtle.ConstantTimeCompare([]byte("Bearer "+s), g.bearer) == 1
}

func (g *guard) sign(expiry int64) string {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte(strconv.FormatInt(expiry, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newSession returns a cookie value valid for sessionTTL.
func (g *guard) newSession() string {
	exp := g.now().Add(sessionTTL).Unix()
	return strconv.FormatInt(exp, 10) + "." + g.sign(exp)
}

func (g *guard) validSession(v string) bool {
	expS, mac, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(g.sign(exp))) && g.now().Unix() < exp
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
