package channels

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrOpen is wrapped by the transient SendError a Breaker returns while the
// provider is considered down.
var ErrOpen = errors.New("circuit breaker open")

// BreakerConfig tunes a circuit breaker.
type BreakerConfig struct {
	// Failures is how many consecutive transient failures open the breaker
	// (default 5).
	Failures int
	// OpenFor is how long the breaker rejects sends before letting one probe
	// through (default 30s).
	OpenFor time.Duration
	// Now is the clock; nil means time.Now. Tests set a fake clock.
	Now func() time.Time
}

type breakerState int

const (
	stateClosed breakerState = iota
	stateOpen
	stateHalfOpen
)

// breaker is a Channel that stops calling a failing provider for a while.
type breaker struct {
	next Channel
	cfg  BreakerConfig

	mu        sync.Mutex
	state     breakerState
	failures  int
	openUntil time.Time
}

// Breaker wraps ch with a per-provider circuit breaker. After cfg.Failures
// consecutive transient failures (timeouts, connection errors, 4xx/5xx server
// trouble) it opens: sends fail fast with a transient SendError wrapping
// ErrOpen whose RetryAfter is the time left. After OpenFor one probe send is
// let through (half-open): success closes the breaker, a transient failure
// opens it again. Permanent errors (a bad recipient) prove the provider works
// and count as success; context cancellation counts as neither.
func Breaker(ch Channel, cfg BreakerConfig) Channel {
	if cfg.Failures <= 0 {
		cfg.Failures = 5
	}
	if cfg.OpenFor <= 0 {
		cfg.OpenFor = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &breaker{next: ch, cfg: cfg}
}

// Name returns the wrapped channel's name.
func (b *breaker) Name() Name { return b.next.Name() }

// Send sends through the wrapped channel unless the breaker is open.
func (b *breaker) Send(ctx context.Context, m *Message) (Result, error) {
	probe, err := b.admit()
	if err != nil {
		return Result{}, err
	}
	res, err := b.next.Send(ctx, m)
	b.record(probe, err)
	return res, err
}

// admit decides whether a send may proceed and whether it is the probe.
func (b *breaker) admit() (probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.cfg.Now()
	switch b.state {
	case stateOpen:
		if now.Before(b.openUntil) {
			return false, b.rejectLocked(b.openUntil.Sub(now))
		}
		b.state = stateHalfOpen
		return true, nil
	case stateHalfOpen:
		// A probe is in flight; ask the caller to come back shortly.
		return false, b.rejectLocked(b.cfg.OpenFor)
	}
	return false, nil
}

func (b *breaker) rejectLocked(wait time.Duration) error {
	return &SendError{Code: "breaker_open", RetryAfter: wait,
		Err: fmt.Errorf("%s: %w", b.next.Name(), ErrOpen)}
}

// record updates the state with the outcome of an admitted send.
func (b *breaker) record(probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case err != nil && IsCanceled(err):
		// The caller gave up; this says nothing about the provider.
		if probe {
			b.state = stateOpen // let the next caller probe right away
			b.openUntil = b.cfg.Now()
		}
	case err == nil || IsPermanent(err):
		b.state = stateClosed
		b.failures = 0
	default:
		b.failures++
		if probe || b.failures >= b.cfg.Failures {
			b.state = stateOpen
			b.openUntil = b.cfg.Now().Add(b.cfg.OpenFor)
		}
	}
}
