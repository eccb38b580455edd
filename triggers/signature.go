package triggers

import "github.com/tidings-crm/tidings/stdwebhook"

// The Standard Webhooks scheme the webhooks are signed with lives in
// stdwebhook (the channels sign with it too); these names keep the
// triggers' callers and tests as they were.

// Standard Webhooks header names.
const (
	HeaderID        = stdwebhook.HeaderID
	HeaderTimestamp = stdwebhook.HeaderTimestamp
	HeaderSignature = stdwebhook.HeaderSignature
)

// DefaultTolerance is how far a webhook-timestamp may be from our clock.
const DefaultTolerance = stdwebhook.DefaultTolerance

// Signature verification failures. All of them mean 401.
var (
	ErrMissingHeaders = stdwebhook.ErrMissingHeaders
	ErrBadTimestamp   = stdwebhook.ErrBadTimestamp
	ErrStaleTimestamp = stdwebhook.ErrStaleTimestamp
	ErrBadSignature   = stdwebhook.ErrBadSignature
)

// Verifier checks Standard Webhooks signatures (stdwebhook.Verifier).
type Verifier = stdwebhook.Verifier

// The scheme's functions (see stdwebhook).
var (
	ParseSecret   = stdwebhook.ParseSecret
	NewVerifier   = stdwebhook.NewVerifier
	Sign          = stdwebhook.Sign
	SignHeaders   = stdwebhook.SignHeaders
	SignedRequest = stdwebhook.SignedRequest
)
