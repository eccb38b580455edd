package wait

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	start := time.Now()
	if !Until(time.Minute, func() bool { return n.Add(1) == 3 }) {
		t.Fatal("Until = false, want true once the condition holds")
	}
	if got := n.Load(); got != 3 {
		t.Errorf("condition checked %d times, want 3 (it stops checking once it holds)", got)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("Until took %s for a condition true on the third check", took)
	}
}

func TestUntilGivesUpAtTheTimeout(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	start := time.Now()
	if Until(50*time.Millisecond, func() bool { n.Add(1); return false }) {
		t.Fatal("Until = true for a condition that never holds")
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("Until gave up after %s, before its 50ms timeout", took)
	}
	if n.Load() < 2 {
		t.Errorf("condition checked %d times in 50ms, want it polled", n.Load())
	}
}
