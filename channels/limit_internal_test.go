package channels

import (
	"testing"
	"time"
)

// TestCoarseWaitsShareTicks: a wait is never shorter than the limiter asked,
// at most one tick longer, and ends on a tick, so sends whose turns fall in
// one tick wake together.
func TestCoarseWaitsShareTicks(t *testing.T) {
	now := time.Date(2026, 12, 4, 13, 0, 0, 3_000_000, time.UTC) // 3 ms past a tick
	ends := map[int64]int{}
	for _, delay := range []time.Duration{time.Millisecond, 2 * time.Millisecond, 9 * time.Millisecond,
		17 * time.Millisecond, 18 * time.Millisecond, 30 * time.Millisecond, 37 * time.Millisecond} {
		got := coarse(now, delay)
		if got < delay || got >= delay+tick {
			t.Errorf("coarse(%v) = %v, want in [%v, %v)", delay, got, delay, delay+tick)
		}
		end := now.Add(got).UnixNano()
		if end%int64(tick) != 0 {
			t.Errorf("coarse(%v) ends at %d ns, not on a %v tick", delay, end, tick)
		}
		ends[end]++
	}
	// 1, 2, 9 and 17 ms from 3 ms past end at the tick at 20 ms; 18 and 30 at
	// 40 ms (21 ms is past the first tick); 37 at 40 too.
	if len(ends) != 2 {
		t.Errorf("7 waits ended at %d ticks, want 2: %v", len(ends), ends)
	}
}
