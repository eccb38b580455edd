package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// TestManyShardsAtOnceDoNotExhaustTheConnectionPool runs more big shards at
// once than the store has connections (18 shards of 600, 48 handlers, 16
// PostgreSQL connections). It guards planAudience deciding only after the
// stream released its connection: the 100,000-recipient benchmark deadlocked
// when 20 long shards each held a stream connection and waited for a second
// one. (Short shards here rarely overlap enough to deadlock without the fix.)
// A 99% holdout keeps the sends few; every shard still writes its rows.
func TestManyShardsAtOnceDoNotExhaustTheConnectionPool(t *testing.T) {
	b := setup(t, store.Postgres)
	const n = 18 * 600
	b.addCustomers(t, n, nil)
	c := b.campaign(t, strings.Replace(newsletterYAML, "channels: [email]", "channels: [email]\nholdout: 99%", 1))
	e := b.engineWith(t, worker.Options{ShardSize: 600}, c)
	b.acceptWorker(t, e, workerConfig{concurrency: 48})
	if err := e.Enqueue(context.Background(), "news", "k", time.Now()); err != nil {
		t.Fatal(err)
	}
	b.waitRun(t, "news", "k", 60*time.Second)
	counts := b.counts(t, "news")
	if counts[store.StatusSent]+counts[store.StatusHoldout] != n || counts[store.StatusSent] == 0 {
		t.Fatalf("ledger %v, want %d rows, sent or holdout", counts, n)
	}
}
