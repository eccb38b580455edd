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
	// Wrong tokens spend the limiter; while it is empty every attempt is
	// refused, the right token too, so guessing gets about one try a second.
	if h.guard.logins.TokensAt(h.guard.now()) < 1 {
		w.Header().Set("Retry-After", "5")
		h.render(w, http.StatusTooManyRequests, "login", loginPage{Next: next,
			Error: "Too many wrong tokens: wait a few seconds and try again."})
		return
	}
	if !h.guard.token(r.PostForm.Get("token")) {
		h.guard.logins.AllowN(h.guard.now(), 1)
		h.opts.Logger.Warn("dashboard: login with a wrong token", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="tidings"`)
		h.render(w, http.StatusUnauthorized, "login", loginPage{Next: next,
			Error: "That is not the admin token (TIDINGS_ADMIN_TOKEN of the server)."})
		return
	}
	http.SetCookie(w, sessionCookie(r, h.guard.newSession()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, sessionCookie(r, ""))
	http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
}
