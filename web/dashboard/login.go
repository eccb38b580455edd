package dashboard

import (
	"net/http"
)

type loginPage struct {
	Next  string
	Error string
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, http.StatusOK, "login", loginPage{Next: safeNext(r.URL.Query().Get("next"))})
}

// login checks the token posted by the form and sets the session cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		h.render(w, http.StatusBadRequest, "login", loginPage{Next: "/dashboard",
			Error: "The form could not be read; send the token as the form field \"token\"."})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	// Wrong tokens spend the client's limiter; while it is empty every
	// attempt of that client is refused, the right token too, so guessing
	// gets about one try a second per address, and other clients (the
	// admin) are not locked out.
	who := client(r)
	if h.guard.logins.blocked(who) {
		w.Header().Set("Retry-After", "5")
		h.render(w, http.StatusTooManyRequests, "login", loginPage{Next: next,
			Error: "Too many wrong tokens: wait a few seconds and try again."})
		return
	}
	if !h.guard.token(r.PostForm.Get("token")) {
		h.guard.logins.failed(who)
		h.opts.Logger.Warn("dashboard: login with a wrong token", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="tidings"`)
		h.render(w, http.StatusUnauthorized, "login", loginPage{Next: next,
			Error: "That is not the admin token (TIDINGS_ADMIN_TOKEN of the server)."})
		return
	}
	http.SetCookie(w, sessionCookie(r, h.guard.newSession()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout revokes the session on the server, so the cookie stops working
// wherever it was copied, and clears it. It must come from this server's
// pages: another site cannot log the operator out.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "logout must come from this server's pages (Origin)", http.StatusForbidden)
		return
	}
	if c, err := r.Cookie(CookieName); err == nil {
		if id, ok := h.guard.validSession(c.Value); ok {
			if err := h.guard.revoked.Revoke(r.Context(), id, sessionExpiry(c.Value)); err != nil {
				h.opts.Logger.Error("dashboard: revoke session", "err", err)
				http.Error(w, "the session could not be revoked; try again", http.StatusServiceUnavailable)
				return
			}
		}
	}
	http.SetCookie(w, sessionCookie(r, ""))
	http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
}
