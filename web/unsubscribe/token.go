// Package unsubscribe honours opt-outs the moment a customer asks: the
// signed one-click unsubscribe links put in every email (RFC 8058
// List-Unsubscribe-Post) and the inbound SMS keywords (STOP, START, HELP)
// the SMS provider forwards, signed (inbound.go).
//
// An unsubscribe writes a suppression and clears the channel's consent
// before the handler answers, and the delivery worker checks suppressions
// at send time, so no marketing message follows an opt-out (DESIGN.md,
// invariant 4). Tokens carry ids only, never an address.
package unsubscribe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/tidings-crm/tidings/channels"
)

// MinKeyLen is the shortest signing key a Signer accepts.
const MinKeyLen = 16

// tokenVersion is the first payload byte, so the format can change later
// without old links being misread. It is also the token's kind: the tracked
// links of web/tracking begin with bytes of their own (2 and up), so no
// token of theirs verifies as an unsubscribe token.
const tokenVersion = 1

// macLen is how many bytes of the HMAC-SHA256 a token keeps (128 bits).
const macLen = 16

// maxTokenLen bounds the work Verify does on hostile input.
const maxTokenLen = 1024

// ErrInvalidToken is wrapped by every Verify failure: a token that is cut
// short, altered, signed with another key, or not a token at all.
var ErrInvalidToken = errors.New("unsubscribe: invalid token")

// Subject is what an unsubscribe token identifies: the delivery the link
// came with, whose it is, on which channel ("email" or "sms") and for which
// campaign. It holds no personal data; the address is looked up from the
// customer id when the link is used.
type Subject struct {
	DeliveryID int64
	CustomerID int64
	Channel    channels.Name
	Campaign   string
}

// Signer makes and checks unsubscribe tokens with an HMAC-SHA256 key
// (at least MinKeyLen bytes; keep it secret and stable, since rotating it
// breaks every link already sent).
type Signer struct {
	Key []byte
}

// Check reports whether the key is usable, so a misconfiguration fails at
// start-up instead of producing links that never verify.
func (s Signer) Check() error {
	if len(s.Key) < MinKeyLen {
		return fmt.Errorf("unsubscribe: signing key is %d bytes, want at least %d", len(s.Key), MinKeyLen)
	}
	return nil
}

var b64 = base64.RawURLEncoding.Strict()

// Sign returns the token for sub: base64url(payload) "." base64url(mac), URL
// safe and about 60 characters for typical ids and campaign names.
func (s Signer) Sign(sub Subject) string {
	payload := make([]byte, 0, 24+len(sub.Channel)+len(sub.Campaign))
	payload = append(payload, tokenVersion)
	payload = binary.AppendVarint(payload, sub.DeliveryID)
	payload = binary.AppendVarint(payload, sub.CustomerID)
	payload = binary.AppendUvarint(payload, uint64(len(sub.Channel)))
	payload = append(payload, sub.Channel...)
	payload = binary.AppendUvarint(payload, uint64(len(sub.Campaign)))
	payload = append(payload, sub.Campaign...)
	return s.Seal(payload)
}

// Seal signs payload into a URL-safe token, base64url(payload) "."
// base64url(mac). It is the one signature of every link Tidings puts in a
// message: unsubscribe tokens here, tracked links and the open pixel
// (web/tracking). The payload's first byte names its kind, so a token of
// one kind never verifies as another.
func (s Signer) Seal(payload []byte) string {
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(s.mac(payload))
}

// URL returns the one-click unsubscribe link for sub under base, the public
// root the handler is served at, e.g. "https://news.example.com" gives
// "https://news.example.com/u/<token>".
func (s Signer) URL(base string, sub Subject) string {
	return strings.TrimRight(base, "/") + "/u/" + s.Sign(sub)
}

// purposePreferences derives the key of the preference page's links.
const purposePreferences = "preferences"

// For returns a signer whose key is derived from s's for one purpose: its
// tokens verify only with a signer for the same purpose, so a preference
// page link is not an unsubscribe link, nor the reverse.
func (s Signer) For(purpose string) Signer {
	h := hmac.New(sha256.New, s.Key)
	h.Write([]byte("tidings/" + purpose))
	return Signer{Key: h.Sum(nil)}
}

// PreferencesURL returns the link to the preference page of sub's customer
// under base, e.g. "https://news.example.com/p/<token>".
func (s Signer) PreferencesURL(base string, sub Subject) string {
	return strings.TrimRight(base, "/") + "/p/" + s.For(purposePreferences).Sign(sub)
}

// Verify checks token's signature in constant time and returns its
// subject. Every failure wraps ErrInvalidToken.
func (s Signer) Verify(token string) (Subject, error) {
	payload, err := s.Open(token, maxTokenLen)
	if err != nil {
		return Subject{}, err
	}
	sub, err := decodePayload(payload)
	if err != nil {
		return Subject{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return sub, nil
}

// Open checks a token made by Seal, at most maxLen bytes long, in constant
// time and returns its payload. Every failure wraps ErrInvalidToken; the
// caller still checks the payload's kind byte.
func (s Signer) Open(token string, maxLen int) ([]byte, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	if len(token) > maxLen || !tokenAlphabet(token) {
		return nil, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	body, sig, ok := strings.Cut(token, ".")
	if !ok {
		return nil, fmt.Errorf("%w: no signature", ErrInvalidToken)
	}
	payload, err := b64.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: payload encoding", ErrInvalidToken)
	}
	mac, err := b64.DecodeString(sig)
	if err != nil || len(mac) != macLen {
		return nil, fmt.Errorf("%w: signature encoding", ErrInvalidToken)
	}
	if !hmac.Equal(mac, s.mac(payload)) {
		return nil, fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	return payload, nil
}

func (s Signer) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, s.Key)
	h.Write(payload)
	return h.Sum(nil)[:macLen]
}

// tokenAlphabet reports whether token holds only base64url characters and
// dots; the base64 decoder would otherwise skip line breaks silently.
func tokenAlphabet(token string) bool {
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// decodePayload parses a signed payload. The signature already proves we
// wrote it, so failures here mean a format version this code does not know.
func decodePayload(p []byte) (Subject, error) {
	if len(p) == 0 || p[0] != tokenVersion {
		return Subject{}, errors.New("unknown version")
	}
	p = p[1:]
	var sub Subject
	var ok bool
	if sub.DeliveryID, p, ok = readVarint(p); !ok {
		return Subject{}, errors.New("delivery id")
	}
	if sub.CustomerID, p, ok = readVarint(p); !ok {
		return Subject{}, errors.New("customer id")
	}
	var ch string
	if ch, p, ok = readString(p); !ok {
		return Subject{}, errors.New("channel")
	}
	sub.Channel = channels.Name(ch)
	if sub.Campaign, p, ok = readString(p); !ok {
		return Subject{}, errors.New("campaign")
	}
	if len(p) != 0 {
		return Subject{}, errors.New("trailing bytes")
	}
	return sub, nil
}

func readVarint(p []byte) (int64, []byte, bool) {
	v, n := binary.Varint(p)
	if n <= 0 {
		return 0, p, false
	}
	return v, p[n:], true
}

func readString(p []byte) (string, []byte, bool) {
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return "", p, false
	}
	p = p[n:]
	return string(p[:l]), p[l:], true
}
