package worker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestLastShardsFinishingTogetherCompleteTheRun finishes the last two shards
// of a run at the same instant, 40 times: each time exactly one of them
// reports the run done and the run is marked done. (Under READ COMMITTED each
// transaction used to see the other's shard still pending, so no one marked
// the run done and it stayed "running" for ever: the kill test caught it.)
func TestLastShardsFinishingTogetherCompleteTheRun(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, dialect)
			ctx := context.Background()
			now := time.Now()
			for i := range 40 {
				key := fmt.Sprintf("k%d", i)
				run, err := st.StartRun(ctx, "race", key, now, now)
				if err != nil {
					t.Fatal(err)
				}
				shards := []store.Shard{{RunID: run.ID, Lo: 0, Hi: 50}, {RunID: run.ID, Lo: 50, Hi: 100}}
				if err := st.AddShards(ctx, shards, now); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				start := make(chan struct{})
				doneBy := make([]bool, len(shards))
				for j, sh := range shards {
					wg.Go(func() {
						<-start
						var err error
						if doneBy[j], err = st.FinishShard(ctx, run.ID, sh.Lo, map[string]int{"matched": 1}, now); err != nil {
							t.Error(err)
						}
					})
				}
				close(start)
				wg.Wait()
				done, err := st.RunDone(ctx, "race", key)
				if err != nil {
					t.Fatal(err)
				}
				if !done || doneBy[0] == doneBy[1] {
					t.Fatalf("run %s: done %v; shards reported run done %v", key, done, doneBy)
				}
			}
		})
	}
}
