// Package stdwebhook is the Standard Webhooks scheme (https://www.standardwebhooks.com)
// in one place: "whsec_" secrets, the HMAC-SHA256 signature over
// "id.timestamp.body", and its verification. Tidings verifies it on the
// requests it receives (triggers, inbound SMS) and signs with it what it
// sends (outgoing webhooks, the webhook channel). It imports nothing of
// Tidings, so the lowest layers can use it.
package stdwebhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (https://www.standardwebhooks.com) header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a webhook-timestamp may be from our clock,
// either way, before the request is refused as stale (replay protection).
const DefaultTolerance = 5 * time.Minute

// Signature verification failures. All of them mean 401.
var (
	ErrMissingHeaders = errors.New("missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrBadTimestamp   = errors.New("webhook-timestamp is not a Unix time in seconds")
	ErrStaleTimestamp = errors.New("webhook-timestamp is more than 5 minutes away from the server clock")
	ErrBadSignature   = errors.New("no webhook-signature matches the body")
)

// secretPrefix starts every Standard Webhooks secret.
const secretPrefix = "whsec_"

// ParseSecret decodes a "whsec_<base64>" secret into its key bytes.
func ParseSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), secretPrefix)
	if !ok {
		return nil, errors.New("webhook secret must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhook secret must be whsec_ followed by base64")
	}
	return key, nil
}

// Verifier checks Standard Webhooks signatures against one or more secrets
// (several during a rotation: a signature by any of them is accepted).
type Verifier struct {
	keys      [][]byte
	Tolerance time.Duration    // default DefaultTolerance
	Now       func() time.Time // default time.Now
}

// NewVerifier returns a verifier for the space-separated "whsec_..." secrets.
func NewVerifier(secrets string) (*Verifier, error) {
	v := &Verifier{}
	for _, s := range strings.Fields(secrets) {
		key, err := ParseSecret(s)
		if err != nil {
			return nil, err
		}
		v.keys = append(v.keys, key)
	}
	if len(v.keys) == 0 {
		return nil, errors.New("no webhook secret is configured (TIDINGS_WEBHOOK_SECRET)")
	}
	return v, nil
}

// CheckHeaders verifies that the three headers are present and that the
// timestamp is within the tolerance, before the body is read.
func (v *Verifier) CheckHeaders(id, timestamp, signature string) error {
	if id == "" || timestamp == "" || signature == "" || len(id) > 256 || len(signature) > 4096 {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	now, tol := time.Now, v.Tolerance
	if v.Now != nil {
		now = v.Now
	}
	if tol <= 0 {
		tol = DefaultTolerance
	}
	at := time.Unix(ts, 0)
	if d := now().Sub(at); d > tol || d < -tol {
		return ErrStaleTimestamp
	}
	return nil
}

// Verify checks the headers and that one of the space-separated "v1,<base64>"
// signatures is the HMAC-SHA256 of "id.timestamp.body" under one of the
// secrets, comparing in constant time. body must be the raw request bytes.
func (v *Verifier) Verify(id, timestamp, signature string, body []byte) error {
	if err := v.CheckHeaders(id, timestamp, signature); err != nil {
		return err
	}
	for _, key := range v.keys {
		want := mac(key, id, timestamp, body)
		for _, sig := range strings.Fields(signature) {
			version, b64, ok := strings.Cut(sig, ",")
			if !ok || version != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(b64)
			if err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrBadSignature
}

func mac(key []byte, id, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns the webhook-signature header value ("v1,<base64>") for body
// sent with the given id and timestamp under secret ("whsec_...").
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := ParseSecret(secret)
	if err != nil {
		return "", err
	}
	ts := strconv.FormatInt(timestamp.Unix(), 10)
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, ts, body)), nil
}

// SignHeaders returns the three Standard Webhooks headers for body.
func SignHeaders(secret, id string, timestamp time.Time, body []byte) (map[string]string, error) {
	sig, err := Sign(secret, id, timestamp, body)
	if err != nil {
		return nil, fmt.Errorf("sign webhook: %w", err)
	}
	return map[string]string{HeaderID: id, HeaderTimestamp: strconv.FormatInt(timestamp.Unix(), 10),
		HeaderSignature: sig}, nil
}

// SignedRequest builds a POST of body to url with the Standard Webhooks
// headers signed by secret for message id at timestamp: what a shop's
// integration sends us (`tidings events send`, tests, drills), and what we
// send our subscribers.
func SignedRequest(ctx context.Context, secret, url, id string, timestamp time.Time, body []byte) (*http.Request, error) {
	headers, err := SignHeaders(secret, id, timestamp, body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req, nil
}
