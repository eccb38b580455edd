package channels_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/tidings-crm/tidings/channels"
)

// A provider is usually wrapped twice: a rate limit it promised us, and a
// breaker so a dead provider is not hammered. The caller branches on the
// error helpers.
func Example() {
	provider := &fakeChannel{}
	provider.queue(&channels.SendError{Permanent: true, HardBounce: true, Code: "550 5.1.1",
		Err: errors.New("user unknown")})
	ch := channels.Breaker(channels.Limited(provider, rate.Limit(100), 10),
		channels.BreakerConfig{Failures: 5, OpenFor: 30 * time.Second})

	_, err := ch.Send(context.Background(), &channels.Message{DeliveryID: 1, To: "gone@example.com"})
	switch {
	case err == nil:
		fmt.Println("sent")
	case channels.IsCanceled(err):
		fmt.Println("shutting down: leave the delivery for later")
	case channels.IsHardBounce(err):
		fmt.Println("suppress as hard bounce")
	case channels.IsPermanent(err):
		fmt.Println("mark failed")
	default:
		d, _ := channels.RetryAfterOf(err)
		fmt.Println("retry after", d)
	}
	// Output: suppress as hard bounce
}
