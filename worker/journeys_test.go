package worker_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// TestJourneysAreNotRunYet: a folder with the example journey loads its
// other campaigns; the journey is left out of the running set, said once in
// the log however often the folder is reloaded, and neither the scheduler
// (its inactivity trigger is due at every daily tick) nor a run by hand
// fires it.
func TestJourneysAreNotRunYet(t *testing.T) {
	t.Parallel()
	journey, err := os.ReadFile("../examples/campaigns/win-back-sequence.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.addCustomers(t, 3, nil)
			writeFile(t, filepath.Join(b.dir, "journey.yaml"), string(journey))
			writeFile(t, filepath.Join(b.dir, "news.yaml"), newsletterYAML)
			var log bytes.Buffer
			e := b.engineWith(t, worker.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
			for range 2 {
				if problems := e.LoadCampaigns(b.dir); len(problems) != 0 {
					t.Fatalf("problems: %v", problems)
				}
			}
			if got := e.Campaigns(); len(got) != 1 || got[0].ID != "news" {
				t.Fatalf("running %v, want only news", got)
			}
			if n := strings.Count(log.String(), "journey loaded but not run"); n != 1 ||
				!strings.Contains(log.String(), "campaign=win-back-sequence") {
				t.Errorf("the log says it %d times, want once naming the journey:\n%s", n, log.String())
			}
			ctx := context.Background()
			tick := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) // a Wednesday: no newsletter
			if n, err := (&worker.Scheduler{Engine: e}).Tick(ctx, tick); n != 0 || err != nil {
				t.Errorf("a daily tick fired %d runs (%v), want none", n, err)
			}
			if err := e.Enqueue(ctx, "win-back-sequence", "manual-1", tick); err == nil {
				t.Error("a run by hand of the journey was accepted")
			}
			if n, err := b.st.CountRuns(ctx, "win-back-sequence"); n != 0 || err != nil {
				t.Errorf("journey runs = %d (%v), want 0", n, err)
			}
		})
	}
}
