// Package tracking measures what becomes of a delivered email, for the
// campaigns that opt in (`tracking: {opens: true, clicks: true}`): it
// rewrites the HTML part's links into signed redirects (/c/{token}), adds an
// open pixel (/o/{token}) and a hidden honeypot link, serves those URLs, tells
// people from machines (Apple Mail Privacy Protection, link scanners) and
// records opens and clicks in SQL through a batch writer, each human click
// (and a delivery's first human open) also an event of the events log.
//
// A redirect goes only where a valid signature says: the token carries the
// destination URL, signed with the same key and code as the unsubscribe
// links (unsubscribe.Signer.Seal), so Tidings is never an open redirect; a
// token cut short or altered answers 400.
package tracking

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/web/unsubscribe"
)

// Kind says what a tracked URL is. It is the signed payload's first byte;
// the unsubscribe tokens use 1, so no token verifies as another kind.
type Kind byte

// The kinds of tracked URLs.
const (
	KindClick    Kind = 2 // a rewritten link: redirects to its URL
	KindOpen     Kind = 3 // the open pixel
	KindHoneypot Kind = 4 // the hidden link only machines follow
)

// maxTokenLen bounds a tracked token (a URL of up to MaxURLLen bytes, in
// base64, and the ids).
const maxTokenLen = 4096

// MaxURLLen is the longest link that is rewritten; a longer one is left as
// written (and not tracked).
const MaxURLLen = 2000

// ErrInvalidToken is wrapped by every failure to read a tracked token.
var ErrInvalidToken = errors.New("tracking: invalid token")

// Link is what a tracked URL identifies: the delivery it came with, whose
// and of which campaign, when the message was rendered for sending (the
// "clicked within seconds of delivery" rule reads it without a query), and
// for a click the link's index in the message and its destination.
type Link struct {
	Kind       Kind
	DeliveryID int64
	CustomerID int64
	Campaign   string
	SentAt     time.Time // to the second
	Index      int       // the link's position among the message's links (clicks)
	URL        string    // the destination, exactly as written in the message (clicks)
}

// Tokens signs and reads tracked tokens with the unsubscribe signer's key.
type Tokens struct {
	Signer unsubscribe.Signer
}

// Sign returns l's token.
func (t Tokens) Sign(l Link) string {
	p := make([]byte, 0, 32+len(l.Campaign)+len(l.URL))
	p = append(p, byte(l.Kind))
	p = binary.AppendVarint(p, l.DeliveryID)
	p = binary.AppendVarint(p, l.CustomerID)
	p = binary.AppendVarint(p, l.SentAt.Unix())
	p = appendString(p, l.Campaign)
	if l.Kind == KindClick {
		p = binary.AppendUvarint(p, uint64(l.Index))
		p = appendString(p, l.URL)
	}
	return t.Signer.Seal(p)
}

// Verify checks token's signature and returns its link. Every failure
// wraps ErrInvalidToken.
func (t Tokens) Verify(token string) (Link, error) {
	p, err := t.Signer.Open(token, maxTokenLen)
	if err != nil {
		return Link{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	l, err := decodeLink(p)
	if err != nil {
		return Link{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return l, nil
}

func appendString(p []byte, s string) []byte {
	p = binary.AppendUvarint(p, uint64(len(s)))
	return append(p, s...)
}

// decodeLink parses a signed payload; the signature already proves we wrote
// it, so a failure here is another kind of token or a format this code does
// not know.
func decodeLink(p []byte) (Link, error) {
	if len(p) == 0 {
		return Link{}, errors.New("empty")
	}
	l := Link{Kind: Kind(p[0])}
	if l.Kind != KindClick && l.Kind != KindOpen && l.Kind != KindHoneypot {
		return Link{}, errors.New("not a tracked link")
	}
	r := reader{p: p[1:]}
	l.DeliveryID = r.varint()
	l.CustomerID = r.varint()
	l.SentAt = time.Unix(r.varint(), 0).UTC()
	l.Campaign = r.str()
	if l.Kind == KindClick {
		l.Index = int(r.uvarint())
		l.URL = r.str()
	}
	if r.bad || len(r.p) != 0 {
		return Link{}, errors.New("malformed payload")
	}
	return l, nil
}

// reader takes varints and strings off a payload, remembering a failure.
type reader struct {
	p   []byte
	bad bool
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.p)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.p = r.p[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.p)
	if n <= 0 || v > 1<<31 {
		r.bad = true
		return 0
	}
	r.p = r.p[n:]
	return v
}

func (r *reader) str() string {
	l := r.uvarint()
	if r.bad || l > uint64(len(r.p)) {
		r.bad = true
		return ""
	}
	s := string(r.p[:l])
	r.p = r.p[l:]
	return s
}

// URL returns the tracked URL of l under base (the public root,
// TIDINGS_PUBLIC_URL): base/c/{token} for links, base/o/{token} for the pixel.
func (t Tokens) URL(base string, l Link) string {
	path := "/c/"
	if l.Kind == KindOpen {
		path = "/o/"
	}
	return strings.TrimRight(base, "/") + path + t.Sign(l)
}
