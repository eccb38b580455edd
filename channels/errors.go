package channels

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SendError describes a failed send in the terms the delivery worker branches
// on. A SendError that is not Permanent is transient: the same message may
// succeed later (after RetryAfter when it is set).
type SendError struct {
	// Permanent means retrying this message to this recipient will not help
	// (invalid address, rejected content, unsubscribed number).
	Permanent bool
	// HardBounce means the recipient address does not exist (SMTP 5.1.x):
	// the caller should suppress it as a hard bounce.
	HardBounce bool
	// Unsubscribed means the provider says the recipient opted out (Twilio
	// 21610, a STOP reply): the caller should suppress the number.
	Unsubscribed bool
	// Ambiguous means the request may have reached the provider and been
	// accepted before the failure (e.g. a timeout after the message body was
	// sent): a blind resend could duplicate it.
	Ambiguous bool
	// RetryAfter is how long the provider asked us to wait (0 when unknown).
	RetryAfter time.Duration
	// Code is the provider's code: an SMTP reply code with its enhanced
	// status ("550 5.1.1"), a provider error code ("21211"), or a short
	// Tidings code ("timeout", "connection", "breaker_open", "rate_limited").
	Code string
	// Err is the underlying error.
	Err error
}

// Error describes the failure, never including the recipient address.
func (e *SendError) Error() string {
	kind := "transient"
	if e.Permanent {
		kind = "permanent"
	}
	msg := "send failed (" + kind
	if e.Code != "" {
		msg += ", code " + e.Code
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(", retry after %s", e.RetryAfter)
	}
	msg += ")"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *SendError) Unwrap() error { return e.Err }

// IsPermanent reports whether err (or an error it wraps) is a permanent
// SendError. Context cancellation, timeouts, connection errors and any error
// that is not a SendError are not permanent.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// IsHardBounce reports whether err marks the recipient address as
// non-existent (suppress as hard bounce).
func IsHardBounce(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.HardBounce
}

// IsUnsubscribed reports whether the provider said the recipient opted out.
func IsUnsubscribed(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Unsubscribed
}

// IsAmbiguous reports whether the message may have been accepted despite err.
func IsAmbiguous(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Ambiguous
}

// RetryAfterOf returns the delay the provider asked for, and whether it asked.
func RetryAfterOf(err error) (time.Duration, bool) {
	var se *SendError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return se.RetryAfter, true
	}
	return 0, false
}

// IsCanceled reports whether err comes from the caller's context ending
// (cancellation or deadline), as opposed to a provider failure.
func IsCanceled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Transient wraps err as a transient SendError with the given code.
func Transient(code string, err error) *SendError {
	return &SendError{Code: code, Err: err}
}

// Permanent wraps err as a permanent SendError with the given code.
func Permanent(code string, err error) *SendError {
	return &SendError{Permanent: true, Code: code, Err: err}
}
