package tracking

import (
	"bytes"
	"io"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"

	"github.com/tidings-crm/tidings/campaigns"
)

// Message is the delivery a rendered HTML part belongs to.
type Message struct {
	DeliveryID int64
	CustomerID int64
	Campaign   string
	SentAt     time.Time // when it is rendered for sending
	// UnsubscribeURL is the message's own unsubscribe link: never rewritten.
	UnsubscribeURL string
}

// Rewriter puts a campaign's tracking into an email's HTML part.
type Rewriter struct {
	Tokens Tokens
	// Base is the public root tracked URLs are served at
	// (TIDINGS_PUBLIC_URL).
	Base string
}

// Rewrite returns src with what t asks for: with Clicks every http(s) link
// of an <a href> replaced by its signed redirect (in order, each with its
// index) and a hidden honeypot link added; with Opens a 1x1 pixel added.
// Both go before </body> (at the end without one). Links to the
// unsubscribe and preference pages (Base/u/...), the message's own
// unsubscribe link, links that are not http(s) (mailto:, tel:, #anchors) and
// links longer than MaxURLLen are left as written. Everything else in src is
// copied byte for byte; HTML the tokenizer cannot read is returned unchanged.
func (rw Rewriter) Rewrite(src string, m Message, t campaigns.Tracking) string {
	if !t.Any() || src == "" {
		return src
	}
	link := Link{DeliveryID: m.DeliveryID, CustomerID: m.CustomerID, Campaign: m.Campaign, SentAt: m.SentAt.Truncate(time.Second)}
	var out bytes.Buffer
	out.Grow(len(src) + 1024)
	z := html.NewTokenizer(strings.NewReader(src))
	index, tail := 0, false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				return src
			}
			break
		}
		// A copy: TagName lower-cases the tokenizer's buffer in place.
		raw := bytes.Clone(z.Raw())
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if !t.Clicks {
				break
			}
			name, hasAttr := z.TagName()
			if string(name) != "a" || !hasAttr {
				break
			}
			if tag, ok := rw.rewriteAnchor(z, tt, link, index, m); ok {
				out.WriteString(tag)
				index++
				continue
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "body" && !tail {
				out.WriteString(rw.extras(link, t))
				tail = true
			}
		}
		out.Write(raw)
	}
	if !tail {
		out.WriteString(rw.extras(link, t))
	}
	return out.String()
}

// rewriteAnchor rebuilds the <a> tag the tokenizer is on with its href
// signed; ok is false when the link is left as written.
func (rw Rewriter) rewriteAnchor(z *html.Tokenizer, tt html.TokenType, l Link, index int, m Message) (string, bool) {
	type attr struct{ key, val string }
	var attrs []attr
	href := -1
	for {
		k, v, more := z.TagAttr()
		if string(k) == "href" && href < 0 {
			href = len(attrs)
		}
		attrs = append(attrs, attr{string(k), string(v)})
		if !more {
			break
		}
	}
	if href < 0 || !rw.trackable(strings.TrimSpace(attrs[href].val), m) {
		return "", false
	}
	l.Kind, l.Index, l.URL = KindClick, index, strings.TrimSpace(attrs[href].val)
	attrs[href].val = rw.Tokens.URL(rw.Base, l)
	var b strings.Builder
	b.WriteString("<a")
	for _, a := range attrs {
		b.WriteString(" " + a.key + `="` + html.EscapeString(a.val) + `"`)
	}
	if tt == html.SelfClosingTagToken {
		b.WriteString("/")
	}
	b.WriteString(">")
	return b.String(), true
}

// trackable reports whether a link is rewritten: an absolute http(s) URL,
// not too long, and not one of Tidings' own pages.
func (rw Rewriter) trackable(s string, m Message) bool {
	if s == "" || len(s) > MaxURLLen || s == m.UnsubscribeURL {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	base := strings.TrimRight(rw.Base, "/")
	for _, own := range []string{"/u/", "/c/", "/o/"} {
		if strings.HasPrefix(s, base+own) {
			return false
		}
	}
	return true
}

// extras is what goes before </body>: the honeypot link (clicks) and the
// pixel (opens).
func (rw Rewriter) extras(l Link, t campaigns.Tracking) string {
	var b strings.Builder
	if t.Clicks {
		l.Kind = KindHoneypot
		b.WriteString(`<a href="` + html.EscapeString(rw.Tokens.URL(rw.Base, l)) +
			`" style="display:none;font-size:0;line-height:0" aria-hidden="true" tabindex="-1">&#8203;</a>`)
	}
	if t.Opens {
		l.Kind = KindOpen
		b.WriteString(`<img src="` + html.EscapeString(rw.Tokens.URL(rw.Base, l)) +
			`" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`)
	}
	return b.String()
}
