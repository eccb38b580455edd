package triggers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Failures of ReadSigned that are the body's fault, not the signature's.
var (
	// ErrTooLarge is a body over the endpoint's limit (413, not 401).
	ErrTooLarge = errors.New("body is over the size limit")
	// ErrUnreadable is a body that could not be read (400).
	ErrUnreadable = errors.New("could not read the body")
)

// ReadSigned checks r's signature headers with v, reads its body (at most
// limit bytes) and verifies the signature over the raw bytes: the Standard
// Webhooks authentication of every signed endpoint. ErrTooLarge and
// ErrUnreadable are the body's fault; the other errors mean 401 (AuthHint
// says what to do).
func ReadSigned(v *Verifier, w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	id, ts, sig := r.Header.Get(HeaderID), r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
	if err := v.CheckHeaders(id, ts, sig); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fmt.Errorf("%w of %d bytes", ErrTooLarge, limit)
		}
		return nil, ErrUnreadable
	}
	if err := v.Verify(id, ts, sig, body); err != nil {
		return nil, err
	}
	return body, nil
}

// AuthHint names the header at fault in a 401 of ReadSigned and what the
// sender should do.
func AuthHint(err error) (field, hint string) {
	switch {
	case errors.Is(err, ErrMissingHeaders):
		return HeaderSignature, "sign the request with Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature headers (docs/api.md)"
	case errors.Is(err, ErrBadTimestamp), errors.Is(err, ErrStaleTimestamp):
		return HeaderTimestamp, "send the current Unix time in seconds; check the sender's clock"
	}
	return HeaderSignature, "sign \"id.timestamp.body\" over the exact bytes sent, with a secret of TIDINGS_WEBHOOK_SECRET"
}
