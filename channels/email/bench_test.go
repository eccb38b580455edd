package email_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tidings-crm/tidings/channels/smtptest"
)

// BenchmarkEmailSend measures messages/s through the pooled SMTP client
// against the in-process server, with parallel senders sharing the pool.
func BenchmarkEmailSend(b *testing.B) {
	for _, pool := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("pool=%d", pool), func(b *testing.B) {
			srv := smtptest.Start(b)
			s := newSender(b, srv, pool)
			var id atomic.Int64
			b.SetParallelism(pool) // pool*GOMAXPROCS goroutines contend for pool sessions
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := id.Add(1)
					if _, err := s.Send(context.Background(), testMessage(n, fmt.Sprintf("r%d@example.com", n))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(srv.Connections()), "conns")
		})
	}
}
