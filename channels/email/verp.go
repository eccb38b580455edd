package email

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
)

// ParseMessageID returns the delivery id of a Message-ID MessageID wrote
// (tidings.<id>@domain, with or without angle brackets).
func ParseMessageID(messageID string) (int64, bool) {
	local, _, ok := strings.Cut(strings.Trim(strings.TrimSpace(messageID), "<>"), "@")
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutPrefix(local, "tidings.")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// VERP makes the return path (envelope sender) of each email name its
// delivery: bounces+<id>-<signature>@domain for a base address
// bounces@domain. A bounce then comes back to an address that says which
// message bounced, whatever the bounce's format, and the signature keeps
// anyone from pinning a bounce on another message.
type VERP struct {
	local, domain string
	key           []byte
}

// verpSigLen is how many hex characters of the HMAC the address carries:
// 64 bits, far beyond guessing, short enough for a local part.
const verpSigLen = 16

// NewVERP returns the return-path scheme for base (bounces@bounce.shop.example)
// signed with key (at least 32 bytes).
func NewVERP(base string, key []byte) (*VERP, error) {
	addr, err := mail.ParseAddress(base)
	if err != nil {
		return nil, fmt.Errorf("email: return path %q: %w", base, err)
	}
	local, domain, _ := strings.Cut(addr.Address, "@")
	if strings.Contains(local, "+") {
		return nil, fmt.Errorf("email: return path %q: the local part must not hold a '+' (Tidings adds +<delivery>)", base)
	}
	if len(key) < 32 {
		return nil, errors.New("email: return path: the signing key must be at least 32 bytes")
	}
	return &VERP{local: local, domain: strings.ToLower(domain), key: append([]byte(nil), key...)}, nil
}

// Address returns the return path of delivery id.
func (v *VERP) Address(id int64) string {
	n := strconv.FormatInt(id, 10)
	return v.local + "+" + n + "-" + v.sign(n) + "@" + v.domain
}

// Parse returns the delivery id of a return path Address wrote, checking
// its signature; angle brackets and a display name are allowed.
func (v *VERP) Parse(address string) (int64, bool) {
	if a, err := mail.ParseAddress(address); err == nil {
		address = a.Address
	}
	local, domain, ok := strings.Cut(strings.Trim(strings.TrimSpace(address), "<>"), "@")
	if !ok || !strings.EqualFold(domain, v.domain) {
		return 0, false
	}
	tag, ok := strings.CutPrefix(local, v.local+"+")
	if !ok {
		return 0, false
	}
	n, sig, ok := strings.Cut(tag, "-")
	if !ok || !hmac.Equal([]byte(strings.ToLower(sig)), []byte(v.sign(n))) {
		return 0, false
	}
	id, err := strconv.ParseInt(n, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

func (v *VERP) sign(n string) string {
	m := hmac.New(sha256.New, v.key)
	m.Write([]byte("tidings verp v1:" + n))
	return hex.EncodeToString(m.Sum(nil))[:verpSigLen]
}
