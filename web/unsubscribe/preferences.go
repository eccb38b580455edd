package unsubscribe

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/store"
)

// The preference page lists the deployment's topics with a checkbox each,
// a save button and "unsubscribe from all". It is reached by the signed
// link every email carries ({{ .preferences_url }}, Signer.PreferencesURL)
// and is a plain HTML form: no script, no cookie, no external resource.
// The form carries a token derived from the link's (csrf), so a page of
// another site cannot post it without the link, which only the customer
// holds.

// preferenceView is what the page shows.
type preferenceView struct {
	Brand        string
	Topics       []topicBox
	CSRF         string
	Saved        bool // after a save
	Unsubscribed bool // the customer receives no marketing email at all
}

// topicBox is one checkbox.
type topicBox struct {
	ID, Label string
	On        bool
}

var preferencePage = template.Must(template.New("prefs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Email preferences</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}
fieldset{border:1px solid #ccc;border-radius:.25rem;margin:1rem 0}label{display:block;padding:.25rem 0}
button{font:inherit;padding:.5rem 1.25rem;border:0;border-radius:.25rem;background:#222;color:#fff;cursor:pointer;margin:.25rem .5rem .25rem 0}
button.all{background:#fff;color:#222;border:1px solid #222}</style>
</head><body><h1>Email preferences</h1>
{{if .Saved}}<p role="status" id="saved">Your preferences are saved.</p>{{end}}
{{if .Unsubscribed}}<p id="unsubscribed">You are unsubscribed from all emails from {{.Brand}}.</p>{{end}}
<form method="post" action="">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<fieldset><legend>Emails from {{.Brand}} I want to receive</legend>
{{range .Topics}}<label><input type="checkbox" name="topic" value="{{.ID}}"{{if .On}} checked{{end}}> {{.Label}}</label>
{{else}}<p>There are no topics to choose from.</p>
{{end}}</fieldset>
<button type="submit" name="action" value="save" id="save">Save</button>
<button type="submit" name="action" value="all" class="all" id="all">Unsubscribe from all</button>
</form>
</body></html>`))

// preferences serves GET /p/{token}: the page, changing nothing.
func (h *handler) preferences(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	sub, ok := h.preferenceSubject(w, r, token)
	if !ok {
		return
	}
	h.showPreferences(r.Context(), w, sub, token, false)
}

// savePreferences serves POST /p/{token}: the checked topics are the ones
// the customer keeps, the others are left; "all" unsubscribes the address
// from every marketing email. It answers with the page, saved.
func (h *handler) savePreferences(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	sub, ok := h.preferenceSubject(w, r, token)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil || !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(h.csrf(token))) {
		h.log.InfoContext(r.Context(), "preferences: form without its token refused", "customer", sub.CustomerID)
		h.page(w, http.StatusForbidden, pageStale, "")
		return
	}
	ctx := r.Context()
	known := campaigns.TopicIDs(h.opts.Topics)
	kept := r.PostForm["topic"]
	var left []string
	for _, t := range known {
		if !slices.Contains(kept, t) {
			left = append(left, t)
		}
	}
	err := h.opts.Store.SetTopics(ctx, sub.CustomerID, known, left, store.ConsentPreferences)
	if err == nil && r.PostFormValue("action") == "all" {
		err = h.unsubscribeAs(ctx, Subject{DeliveryID: sub.DeliveryID, CustomerID: sub.CustomerID,
			Channel: channels.Email, Campaign: sub.Campaign}, store.ConsentPreferences)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.page(w, http.StatusNotFound, pageInvalid, "")
		return
	case err != nil:
		h.log.ErrorContext(ctx, "preferences: save failed", "customer", sub.CustomerID, "err", err)
		h.page(w, http.StatusInternalServerError, pageError, channels.Email)
		return
	}
	h.log.InfoContext(ctx, "preferences saved", "customer", sub.CustomerID, "delivery", sub.DeliveryID)
	h.showPreferences(ctx, w, sub, token, true)
}

// preferenceSubject verifies the page's token, answering the invalid page
// when it does not verify.
func (h *handler) preferenceSubject(w http.ResponseWriter, r *http.Request, token string) (Subject, bool) {
	sub, err := h.opts.Signer.For(purposePreferences).Verify(token)
	if err != nil {
		h.log.InfoContext(r.Context(), "preferences: rejected link", "err", err)
		h.page(w, http.StatusBadRequest, pageInvalid, "")
		return Subject{}, false
	}
	return sub, true
}

// showPreferences renders the page with the customer's current choices.
func (h *handler) showPreferences(ctx context.Context, w http.ResponseWriter, sub Subject, token string, saved bool) {
	c, err := h.opts.Store.CustomerByID(ctx, sub.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		h.page(w, http.StatusNotFound, pageInvalid, "")
		return
	}
	var left []string
	if err == nil {
		left, err = h.opts.Store.TopicOptOuts(ctx, c.ID)
	}
	if err != nil {
		h.log.ErrorContext(ctx, "preferences: read failed", "customer", sub.CustomerID, "err", err)
		h.page(w, http.StatusInternalServerError, pageError, channels.Email)
		return
	}
	v := preferenceView{Brand: h.opts.Brand, CSRF: h.csrf(token), Saved: saved, Unsubscribed: !c.EmailConsent}
	for _, t := range h.opts.Topics {
		v.Topics = append(v.Topics, topicBox{ID: t.ID, Label: t.Label, On: !slices.Contains(left, t.ID)})
	}
	var buf bytes.Buffer
	if err := preferencePage.Execute(&buf, v); err != nil {
		h.log.ErrorContext(ctx, "preferences: render page", "err", err)
		h.page(w, http.StatusInternalServerError, pageError, channels.Email)
		return
	}
	writePage(w, http.StatusOK, buf.Bytes())
}

// csrf is the form's token: an HMAC of the link's token under the
// preference key, so only a page rendered for that link can post.
func (h *handler) csrf(token string) string {
	m := hmac.New(sha256.New, h.opts.Signer.For(purposePreferences).Key)
	m.Write([]byte("csrf:" + token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:macLen])
}

// writePage writes an HTML page with the headers that keep the token out
// of caches, referrers and search engines.
func writePage(w http.ResponseWriter, status int, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Robots-Tag", "noindex")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'self'")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
