package channels

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// limited is a Channel that waits for a token before each send.
type limited struct {
	next    Channel
	limiter *rate.Limiter
}

// Limited wraps ch so that at most limit sends per second (with the given
// burst) reach it from this process. A send waits for its turn; if ctx ends
// first it returns ctx's error, and if ctx's deadline is sooner than the turn
// it returns at once with a transient "rate_limited" SendError whose
// RetryAfter is the wait it would have needed.
func Limited(ch Channel, limit rate.Limit, burst int) Channel {
	return &limited{next: ch, limiter: rate.NewLimiter(limit, burst)}
}

// Name returns the wrapped channel's name.
func (l *limited) Name() Name { return l.next.Name() }

// Send waits for a rate token, then sends through the wrapped channel.
func (l *limited) Send(ctx context.Context, m *Message) (Result, error) {
	if err := l.wait(ctx); err != nil {
		return Result{}, err
	}
	return l.next.Send(ctx, m)
}

func (l *limited) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: rate limit: %w", l.next.Name(), err)
	}
	r := l.limiter.Reserve()
	if !r.OK() {
		return Transient("rate_limited", fmt.Errorf("%s: rate limit: burst is zero", l.next.Name()))
	}
	delay := r.Delay()
	if delay == 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
		r.Cancel()
		return &SendError{Code: "rate_limited", RetryAfter: delay,
			Err: fmt.Errorf("%s: rate limit: turn comes after the deadline", l.next.Name())}
	}
	t := time.NewTimer(coarse(time.Now(), delay))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return fmt.Errorf("%s: rate limit: %w", l.next.Name(), ctx.Err())
	}
}

// tick is the grain of the waits: a send whose turn comes within a tick
// waits to the tick's end. At 500 sends per second a fine-grained limiter
// wakes a goroutine every 2 ms, each wake-up a futex and a lone SMTP write;
// waking ten together at 20 ms costs the scheduler one wake-up and lets their
// writes share the connections' pipelining. The rate is unchanged (every send
// holds its reservation); a send is at most one tick later.
const tick = 20 * time.Millisecond

// coarse rounds the wait delay from now up to the next multiple of tick on
// the wall clock, so concurrent waiters share a wake-up.
func coarse(now time.Time, delay time.Duration) time.Duration {
	due := now.Add(delay).UnixNano()
	grain := int64(tick)
	return time.Duration((due+grain-1)/grain*grain - now.UnixNano())
}
