package channels_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tidings-crm/tidings/channels"
)

// fakeChannel returns the errors queued in errs, in order, then nil.
type fakeChannel struct {
	mu    sync.Mutex
	errs  []error
	calls atomic.Int64
}

func (f *fakeChannel) Name() channels.Name { return "fake" }

func (f *fakeChannel) Send(ctx context.Context, m *channels.Message) (channels.Result, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) == 0 {
		return channels.Result{ProviderID: "ok"}, nil
	}
	err := f.errs[0]
	f.errs = f.errs[1:]
	return channels.Result{}, err
}

func (f *fakeChannel) queue(errs ...error) {
	f.mu.Lock()
	f.errs = append(f.errs, errs...)
	f.mu.Unlock()
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var msg = &channels.Message{DeliveryID: 1, To: "a@example.com"}

func TestBreakerOpensHalfOpensAndCloses(t *testing.T) {
	fake := &fakeChannel{}
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	b := channels.Breaker(fake, channels.BreakerConfig{Failures: 3, OpenFor: 10 * time.Second, Now: clock.Now})
	ctx := context.Background()
	transient := channels.Transient("timeout", errors.New("i/o timeout"))

	// Two failures, a success: the count resets.
	fake.queue(transient, transient)
	for range 3 {
		_, _ = b.Send(ctx, msg)
	}
	// Permanent errors prove the provider works: they do not count.
	fake.queue(transient, channels.Permanent("21211", errors.New("invalid number")), transient, transient)
	for range 4 {
		_, _ = b.Send(ctx, msg)
	}
	if _, err := b.Send(ctx, msg); err != nil {
		t.Fatalf("breaker opened too early: %v", err)
	}
	// Three consecutive transient failures open it.
	fake.queue(transient, transient, transient)
	for range 3 {
		_, _ = b.Send(ctx, msg)
	}
	calls := fake.calls.Load()
	clock.Add(4 * time.Second)
	_, err := b.Send(ctx, msg)
	if !errors.Is(err, channels.ErrOpen) || channels.IsPermanent(err) {
		t.Fatalf("err = %v, want transient ErrOpen", err)
	}
	if d, ok := channels.RetryAfterOf(err); !ok || d != 6*time.Second {
		t.Errorf("RetryAfter = %s, %v; want 6s", d, ok)
	}
	if fake.calls.Load() != calls {
		t.Fatal("an open breaker called the provider")
	}
	// After OpenFor one probe goes through; a failed probe re-opens at once.
	clock.Add(6 * time.Second)
	fake.queue(transient)
	if _, err := b.Send(ctx, msg); errors.Is(err, channels.ErrOpen) || err == nil {
		t.Fatalf("probe: err = %v, want the provider's error", err)
	}
	if _, err := b.Send(ctx, msg); !errors.Is(err, channels.ErrOpen) {
		t.Fatalf("after failed probe: err = %v, want ErrOpen", err)
	}
	// A successful probe closes it.
	clock.Add(10 * time.Second)
	for i := range 3 {
		if _, err := b.Send(ctx, msg); err != nil {
			t.Fatalf("send %d after recovery: %v", i, err)
		}
	}
}

func TestBreakerHalfOpenAdmitsOneProbe(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	slow := &blockingChannel{entered: entered, release: release}
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	b := channels.Breaker(slow, channels.BreakerConfig{Failures: 1, OpenFor: time.Second, Now: clock.Now})
	slow.err = channels.Transient("connection", errors.New("refused"))
	close(release)
	_, _ = b.Send(context.Background(), msg) // opens
	<-entered

	slow.err = nil
	slow.release = make(chan struct{})
	clock.Add(time.Second)
	done := make(chan error, 1)
	go func() { _, err := b.Send(context.Background(), msg); done <- err }()
	<-entered // the probe is in flight
	if _, err := b.Send(context.Background(), msg); !errors.Is(err, channels.ErrOpen) {
		t.Fatalf("second caller during probe: err = %v, want ErrOpen", err)
	}
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if _, err := b.Send(context.Background(), msg); err != nil {
		t.Fatalf("after probe: %v", err)
	}
}

func TestBreakerIgnoresCancellation(t *testing.T) {
	fake := &fakeChannel{}
	b := channels.Breaker(fake, channels.BreakerConfig{Failures: 1, OpenFor: time.Hour})
	fake.queue(context.Canceled, context.DeadlineExceeded)
	_, _ = b.Send(context.Background(), msg)
	_, _ = b.Send(context.Background(), msg)
	if _, err := b.Send(context.Background(), msg); err != nil {
		t.Fatalf("cancellations opened the breaker: %v", err)
	}
}

// blockingChannel signals entry, waits for release, then returns err.
type blockingChannel struct {
	entered chan struct{}
	release chan struct{}
	err     error
}

func (c *blockingChannel) Name() channels.Name { return "blocking" }
func (c *blockingChannel) Send(ctx context.Context, m *channels.Message) (channels.Result, error) {
	c.entered <- struct{}{}
	<-c.release
	return channels.Result{}, c.err
}

func TestLimitedPacesSends(t *testing.T) {
	fake := &fakeChannel{}
	l := channels.Limited(fake, rate.Limit(50), 5) // 50/s, burst 5
	start := time.Now()
	for i := range 15 {
		if _, err := l.Send(context.Background(), msg); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	// 5 immediately, 10 more at 20ms each: about 200ms.
	if took := time.Since(start); took < 180*time.Millisecond || took > 600*time.Millisecond {
		t.Errorf("15 sends took %s, want about 200ms", took)
	}
	if fake.calls.Load() != 15 {
		t.Errorf("calls = %d", fake.calls.Load())
	}
}

func TestLimitedRespectsContext(t *testing.T) {
	fake := &fakeChannel{}
	l := channels.Limited(fake, rate.Every(time.Hour), 1)
	if _, err := l.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	// The next turn is an hour away: a 50ms deadline fails fast with RetryAfter.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.Send(ctx, msg)
	if d, ok := channels.RetryAfterOf(err); !ok || d < 59*time.Minute || channels.IsPermanent(err) {
		t.Fatalf("err = %v (retry %s), want transient rate_limited with ~1h RetryAfter", err, d)
	}
	if time.Since(start) > 40*time.Millisecond {
		t.Errorf("did not fail fast: %s", time.Since(start))
	}
	// Without a deadline, cancellation ends the wait with ctx's error.
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel2)
	_, err = l.Send(ctx2, msg)
	if !errors.Is(err, context.Canceled) || !channels.IsCanceled(err) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if fake.calls.Load() != 1 {
		t.Errorf("calls = %d, want 1", fake.calls.Load())
	}
}

func TestErrorHelpers(t *testing.T) {
	se := &channels.SendError{Permanent: true, HardBounce: true, Code: "550 5.1.1", Err: errors.New("user unknown")}
	wrapped := errors.Join(errors.New("deliver 42"), se)
	if !channels.IsPermanent(wrapped) || !channels.IsHardBounce(wrapped) {
		t.Error("helpers do not see through wrapping")
	}
	if _, ok := channels.RetryAfterOf(wrapped); ok {
		t.Error("RetryAfterOf without a delay")
	}
	ra := &channels.SendError{RetryAfter: 5 * time.Second, Code: "429"}
	if d, ok := channels.RetryAfterOf(ra); !ok || d != 5*time.Second || channels.IsPermanent(ra) {
		t.Errorf("RetryAfterOf = %s %v", d, ok)
	}
	if channels.IsPermanent(errors.New("plain")) || channels.IsPermanent(context.Canceled) {
		t.Error("non-SendErrors must not be permanent")
	}
	if a, b := channels.Redact("Ann@Example.com "), channels.Redact("ann@example.com"); a != b || len(a) != 12 {
		t.Errorf("Redact = %q, %q", a, b)
	}
}
