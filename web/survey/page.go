package survey

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
)

// pageData is what the answer page shows.
type pageData struct {
	Title   string
	Brand   string
	Score   int
	Max     int
	Scale   []scoreLink
	Invalid bool // the link is not a valid answer link
	Failed  bool // the answer could not be recorded
}

type scoreLink struct {
	Score  int
	URL    string
	Chosen bool
}

// page is one self-contained document: no script, no external resources,
// no cookies. Changing the answer is another signed link.
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
ol{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.25rem}
a{display:inline-block;min-width:2rem;text-align:center;padding:.25rem;border:1px solid #888;border-radius:.25rem;color:#222;text-decoration:none}
a.chosen{background:#222;color:#fff}</style>
</head><body><h1>{{.Title}}</h1>
{{if .Invalid}}<p>This answer link is not valid. It may have been cut short or changed on its way here.
Please open the whole link from the message again.</p>
{{else if .Failed}}<p>Something went wrong on our side and your answer is not recorded yet. Please try again in a minute.</p>
{{else}}<p>Your answer, {{.Score}} out of {{.Max}}, is recorded. {{.Brand}} thanks you for it.</p>
<p>Changed your mind? Choose another answer:</p>
<ol>{{range .Scale}}<li><a href="{{.URL}}"{{if .Chosen}} class="chosen" aria-current="true"{{end}}>{{.Score}}</a></li>{{end}}</ol>
{{end}}</body></html>
`))

// page renders the answer page with status. The headers keep the token out
// of caches, referrers and search engines.
func (h *handler) page(w http.ResponseWriter, status int, d pageData) {
	var buf bytes.Buffer
	if err := page.Execute(&buf, d); err != nil {
		h.log.Error("survey: render page", "err", err)
		http.Error(w, d.Title, status)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Robots-Tag", "noindex")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func itoa(n int) string { return strconv.Itoa(n) }
