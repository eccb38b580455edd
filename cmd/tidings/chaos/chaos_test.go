// Package chaos holds the reliability drills of docs/reliability.md, run
// against real tidings processes (cmd/tidings/internal/cluster): kill -9 a
// worker, wipe or restart Redis, restart PostgreSQL, an SMTP relay refusing
// with 4xx, two schedulers and three workers, and a soak under mixed load.
// Each ends in assertions on the ledger and on what the SMTP server received.
//
// By default the drills run in their short form (a few thousand recipients,
// a shorter soak) so that `make test` stays fast; TIDINGS_CHAOS=full (make
// chaos) runs the full form. -short skips them.
package chaos

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
)

func TestMain(m *testing.M) {
	// The drills mostly wait (leases, reconciler passes, real minutes) on
	// processes of their own: run them all at once unless -parallel says
	// otherwise, or the package would take the sum of their waits.
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "8")
	}
	code := cluster.RunTests(m)
	printTable()
	os.Exit(code)
}

// full reports whether the full form runs (TIDINGS_CHAOS=full).
func full() bool { return os.Getenv("TIDINGS_CHAOS") == "full" }

// pick returns the full-form value or the short-form one.
func pick[T any](fullValue, shortValue T) T {
	if full() {
		return fullValue
	}
	return shortValue
}

// drill marks a test as a chaos drill: skipped with -short, run in parallel
// with the other drills (each has its own Redis server and schema).
func drill(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("chaos drills run real processes; skipped with -short")
	}
	t.Parallel()
}

// result is one row of the table make chaos prints.
type result struct {
	Scenario   string
	Recipients int
	Sent       int
	Unknown    int
	Duplicates int
	Recover    time.Duration // from the end of the fault to the run's end
	Note       string
}

var results struct {
	sync.Mutex
	rows []result
}

// record adds a row to the table, logs it, and fails the test if the oracle
// found a problem.
func record(t *testing.T, scenario string, rep cluster.Report, recover time.Duration, note string) {
	t.Helper()
	r := result{Scenario: scenario, Recipients: rep.Rows, Sent: rep.Sent, Unknown: rep.Unknown,
		Duplicates: rep.Duplicates, Recover: recover, Note: note}
	results.Lock()
	results.rows = append(results.rows, r)
	results.Unlock()
	t.Logf("%s: %s; recovered in %s %s", scenario, rep, recover.Round(100*time.Millisecond), note)
	if !rep.OK() {
		t.Errorf("%s: the ledger and the SMTP server disagree:\n%s", scenario, rep)
	}
}

func printTable() {
	results.Lock()
	defer results.Unlock()
	if len(results.rows) == 0 {
		return
	}
	sort.SliceStable(results.rows, func(i, j int) bool { return results.rows[i].Scenario < results.rows[j].Scenario })
	form := pick("full", "short")
	var b strings.Builder
	fmt.Fprintf(&b, "\nchaos drills (%s form)\n", form)
	fmt.Fprintf(&b, "%-34s %10s %8s %8s %10s %10s  %s\n", "scenario", "recipients", "sent", "unknown", "duplicates", "recover", "note")
	for _, r := range results.rows {
		fmt.Fprintf(&b, "%-34s %10d %8d %8d %10d %10s  %s\n", r.Scenario, r.Recipients, r.Sent, r.Unknown,
			r.Duplicates, r.Recover.Round(100*time.Millisecond), r.Note)
	}
	fmt.Print(b.String())
}
