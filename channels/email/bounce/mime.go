package bounce

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
)

// part is one leaf of a message: its media type (lower case), its
// parameters and its decoded body. A message/rfc822 part is a leaf: it is
// the returned original, read by Message.original.
type part struct {
	mediaType string
	params    map[string]string
	body      []byte
}

// headerGetter reads a header of a message or of a MIME part.
type headerGetter func(key string) string

func headerOf(h mail.Header) headerGetter              { return h.Get }
func headerOfPart(h textproto.MIMEHeader) headerGetter { return h.Get }

// walk returns the parts of a MIME entity, depth first: each multipart
// container (without a body) before its leaves.
func walk(h headerGetter, body io.Reader, depth int) ([]part, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("bounce: MIME nested deeper than %d levels", maxDepth)
	}
	ct := h("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, params = "text/plain", map[string]string{}
	}
	if strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" {
		out := []part{{mediaType: mt, params: params}} // the container, for its report-type
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				break // a truncated bounce: keep what was read
			}
			sub, err := walk(headerOfPart(p.Header), decode(headerOfPart(p.Header), p), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
		return out, nil
	}
	b, err := io.ReadAll(body)
	if err != nil && len(b) == 0 {
		return nil, fmt.Errorf("bounce: read %s part: %w", mt, err)
	}
	return []part{{mediaType: mt, params: params, body: b}}, nil
}

// decode undoes a part's Content-Transfer-Encoding.
func decode(h headerGetter, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(h("Content-Transfer-Encoding"))) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &stripSpace{r: r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// stripSpace drops the line breaks base64 bodies are folded with.
type stripSpace struct{ r io.Reader }

func (s *stripSpace) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	j := 0
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
			p[j] = c
			j++
		}
	}
	if j == 0 && n > 0 && err == nil {
		return s.Read(p)
	}
	return j, err
}

// first returns the first leaf whose media type is one of types.
func first(parts []part, types ...string) (part, bool) {
	for _, p := range parts {
		for _, t := range types {
			if p.mediaType == t {
				return p, true
			}
		}
	}
	return part{}, false
}

// text returns the first text/plain leaf, or the first text/html with its
// tags turned into line breaks, as text with LF line ends.
func text(parts []part) string {
	if p, ok := first(parts, "text/plain"); ok {
		return normalize(p.body)
	}
	if p, ok := first(parts, "text/html"); ok {
		return normalize(stripTags(p.body))
	}
	return ""
}

func normalize(b []byte) string {
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// stripTags turns HTML into rough text: tags become line breaks, the few
// entities NDRs use are decoded.
func stripTags(b []byte) []byte {
	var out bytes.Buffer
	in := false
	for _, c := range b {
		switch {
		case c == '<':
			in = true
		case c == '>':
			in = false
			out.WriteByte('\n')
		case !in:
			out.WriteByte(c)
		}
	}
	return []byte(strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&nbsp;", " ", "&#64;", "@").Replace(out.String()))
}

// decodeWords decodes RFC 2047 encoded words of a header (a subject).
func decodeWords(s string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}
