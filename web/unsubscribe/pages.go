package unsubscribe

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/tidings-crm/tidings/channels"
)

// The pages the unsubscribe link can show.
const (
	pageConfirm = "confirm"
	pageDone    = "done"
	pageInvalid = "invalid"
	pageError   = "error"
	pageStale   = "stale"
)

// pages is one small self-contained document per outcome: no script, no
// external resources, no cookies. The confirm form posts to its own URL
// (the relative action keeps the token) with the RFC 8058 field.
var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.5rem 1.25rem;border:0;border-radius:.25rem;background:#222;color:#fff;cursor:pointer}</style>
</head><body><h1>{{.Title}}</h1>{{end}}

{{define "confirm"}}{{template "head" .}}
<p>Do you want to stop receiving {{.Noun}} from {{.Brand}}?</p>
<form method="post" action="">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>
</body></html>{{end}}

{{define "done"}}{{template "head" .}}
<p>You are unsubscribed. You will not receive {{.Noun}} from {{.Brand}} any more.</p>
</body></html>{{end}}

{{define "invalid"}}{{template "head" .}}
<p>This unsubscribe link is not valid. It may have been cut short or changed on its way here.
Please open the whole link from the message again, or reply to the message and ask to be unsubscribed.</p>
</body></html>{{end}}

{{define "stale"}}{{template "head" .}}
<p>This form is out of date or incomplete, so nothing was changed. Please open the preference page
from the link in the message again and save your choices there.</p>
</body></html>{{end}}

{{define "error"}}{{template "head" .}}
<p>Something went wrong on our side and you are not unsubscribed yet. Please try again in a minute.</p>
</body></html>{{end}}
`))

var pageTitles = map[string]string{
	pageConfirm: "Unsubscribe",
	pageDone:    "Unsubscribed",
	pageInvalid: "Invalid link",
	pageError:   "Please try again",
	pageStale:   "Nothing was changed",
}

// page renders one of the pages with the given status. The headers keep the
// token out of caches, referrers and search engines.
func (h *handler) page(w http.ResponseWriter, status int, name string, channel channels.Name) {
	noun := "emails"
	if channel == channels.SMS {
		noun = "text messages"
	}
	var buf bytes.Buffer
	data := struct{ Title, Brand, Noun string }{pageTitles[name], h.opts.Brand, noun}
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		h.log.Error("unsubscribe: render page", "page", name, "err", err)
		http.Error(w, pageTitles[name], status)
		return
	}
	writePage(w, status, buf.Bytes())
}
