// Package wait is the tests' deadline poll: it checks a condition every few
// milliseconds until it holds or a timeout passes. It is for conditions no
// component can signal (rows in a database, a task's state in Redis, a
// process in another binary); a component under test that can say when it
// is done (worker.Scheduler's Ticked, the serve command's listening hook) is
// waited on instead, and a sleep is kept only where the wait itself is the
// behaviour under test (a server down for 5 s).
package wait

import (
	"testing"
	"time"
)

// Every is how often Until checks its condition.
const Every = 5 * time.Millisecond

// Until checks cond every Every until it holds (true) or timeout has passed
// (false, after a last check).
func Until(timeout time.Duration, cond func() bool) bool {
	return UntilEvery(timeout, Every, cond)
}

// UntilEvery is Until checking every interval: for conditions that cost a
// query or a request to check.
func UntilEvery(timeout, interval time.Duration, cond func() bool) bool {
	if cond() {
		return true
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
			if cond() {
				return true
			}
		}
	}
}

// For is Until, failing the test with what after timeout.
func For(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Until(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}
