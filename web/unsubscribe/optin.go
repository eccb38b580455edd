package unsubscribe

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// Double opt-in: a sign-up by API whose email consent waits for the
// customer (worker.DoubleOptIn) is sent a link to /confirm/{token}. The GET shows a button and changes nothing (mail
// scanners follow links); its POST grants the consent. The token is an
// unsubscribe-style Subject under a key of its own: DeliveryID holds the
// consent request's id.

// purposeOptIn derives the key of the confirmation links.
const purposeOptIn = "double-opt-in"

// OptIn confirms a consent request; *worker.Engine satisfies it.
type OptIn interface {
	ConfirmConsent(ctx context.Context, requestID, customerID int64) (bool, error)
}

// ConfirmURL returns the confirmation link of consent request requestID of
// customerID under base: "https://news.example.com/confirm/<token>".
func (s Signer) ConfirmURL(base string, requestID, customerID int64) string {
	return strings.TrimRight(base, "/") + "/confirm/" +
		s.For(purposeOptIn).Sign(Subject{DeliveryID: requestID, CustomerID: customerID, Channel: channels.Email})
}

// optInPages are the confirmation's pages, with the unsubscribe pages' head.
var optInPages = template.Must(template.Must(pages.Clone()).Parse(`
{{define "optin-ask"}}{{template "head" .}}
<p>Please confirm that you want to receive emails from {{.Brand}}.</p>
<form method="post" action=""><button type="submit" id="confirm">Yes, subscribe me</button></form>
</body></html>{{end}}

{{define "optin-done"}}{{template "head" .}}
<p id="confirmed">Thank you: your subscription is confirmed. You can leave at any time through the link in every email.</p>
</body></html>{{end}}

{{define "optin-expired"}}{{template "head" .}}
<p>This confirmation link has expired. Sign up again and we will send you a new one.</p>
</body></html>{{end}}

{{define "optin-invalid"}}{{template "head" .}}
<p>This confirmation link is not valid. It may have been cut short or changed on its way here; open the whole link from the email again.</p>
</body></html>{{end}}

{{define "optin-error"}}{{template "head" .}}
<p>Something went wrong on our side and your subscription is not confirmed yet. Please try again in a minute.</p>
</body></html>{{end}}
`))

var optInTitles = map[string]string{
	"ask": "Confirm your subscription", "done": "Subscription confirmed", "expired": "Link expired",
	"invalid": "Invalid link", "error": "Please try again",
}

// optInPage serves GET /confirm/{token}: the button, nothing changed.
func (h *handler) optInPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.optInSubject(w, r); ok {
		h.optInRender(w, http.StatusOK, "ask")
	}
}

// confirmOptIn serves POST /confirm/{token}: the consent starts now; a
// repeated confirmation shows the same page and changes nothing.
func (h *handler) confirmOptIn(w http.ResponseWriter, r *http.Request) {
	sub, ok := h.optInSubject(w, r)
	if !ok {
		return
	}
	drainForm(w, r)
	done, err := h.opts.OptIn.ConfirmConsent(r.Context(), sub.DeliveryID, sub.CustomerID)
	switch {
	case errors.Is(err, store.ErrRequestExpired):
		h.optInRender(w, http.StatusGone, "expired")
	case errors.Is(err, store.ErrNotFound):
		h.optInRender(w, http.StatusNotFound, "invalid")
	case err != nil:
		h.log.ErrorContext(r.Context(), "double opt-in: confirmation failed", "customer", sub.CustomerID, "err", err)
		h.optInRender(w, http.StatusInternalServerError, "error")
	default:
		if done {
			h.log.InfoContext(r.Context(), "double opt-in confirmed", "customer", sub.CustomerID)
		}
		h.optInRender(w, http.StatusOK, "done")
	}
}

// optInSubject verifies the link's token, answering the invalid page when
// it does not verify.
func (h *handler) optInSubject(w http.ResponseWriter, r *http.Request) (Subject, bool) {
	sub, err := h.opts.Signer.For(purposeOptIn).Verify(r.PathValue("token"))
	if err != nil {
		h.log.InfoContext(r.Context(), "double opt-in: rejected link", "err", err)
		h.optInRender(w, http.StatusBadRequest, "invalid")
		return Subject{}, false
	}
	return sub, true
}

func (h *handler) optInRender(w http.ResponseWriter, status int, name string) {
	var b strings.Builder
	data := struct{ Title, Brand string }{optInTitles[name], h.opts.Brand}
	if err := optInPages.ExecuteTemplate(&b, "optin-"+name, data); err != nil {
		h.log.Error("double opt-in: render page", "page", name, "err", err)
		http.Error(w, optInTitles[name], status)
		return
	}
	writePage(w, status, []byte(b.String()))
}
