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

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/worker"
)

// brokenFixture is a campaign file that fails to load at its audience rule
// (line 4, column 11); the CLI's tests use it too.
const brokenFixture = "../campaigns/testdata/broken-rule.yaml"

// brokenYAML returns the text of brokenFixture.
func brokenYAML(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(brokenFixture)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrokenCampaignFileDoesNotStopTheOthers: an engine started on a folder
// with one broken and one valid file runs the valid campaign to the SMTP
// server, and reports the broken file with its file:line:col in the log and
// in BrokenCampaignFiles.
func TestBrokenCampaignFileDoesNotStopTheOthers(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.addCustomers(t, 3, nil)
			bad := filepath.Join(b.dir, "a-broken.yaml")
			writeFile(t, bad, brokenYAML(t))
			writeFile(t, filepath.Join(b.dir, "news.yaml"), newsletterYAML)
			// Read before the workers start; slog serializes their writes.
			var log bytes.Buffer
			e := b.engineWith(t, worker.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})

			problems := e.LoadCampaigns(b.dir)
			if len(problems) == 0 {
				t.Fatal("no problem reported for the broken file")
			}
			if got := e.Campaigns(); len(got) != 1 || got[0].ID != "news" {
				t.Fatalf("loaded %v, want only news", got)
			}
			broken := e.BrokenCampaignFiles()
			if len(broken) != 1 || broken[0].File != bad || broken[0].Kept != "" ||
				!strings.HasPrefix(broken[0].Problems[0], bad+":4:11: ") {
				t.Fatalf("broken files = %+v, want %s with its problem at 4:11", broken, bad)
			}
			if !strings.Contains(log.String(), bad+":4:11: ") {
				t.Errorf("log does not name the problem's place:\n%s", log.String())
			}
			b.startWorker(t, e, 2)
			if err := e.Enqueue(context.Background(), "news", "2026-11-23T09:00Z", time.Now()); err != nil {
				t.Fatal(err)
			}
			b.waitRun(t, "news", "2026-11-23T09:00Z", 30*time.Second)
			if got := b.counts(t, "news"); got[store.StatusSent] != 3 || len(b.smtp.Messages()) != 3 {
				t.Fatalf("ledger %v, %d messages; want 3 sent", got, len(b.smtp.Messages()))
			}
		})
	}
}

// watched starts WatchCampaigns on a fresh folder holding files, after a
// first LoadCampaigns as serve does, and returns the engine and the folder.
func watched(t *testing.T, files map[string]string) (*worker.Engine, string) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		writeFile(t, filepath.Join(dir, name), text)
	}
	e := worker.NewEngine(nil, &worker.Enqueuer{}, nil, worker.Options{Logger: quietLogger()})
	e.LoadCampaigns(dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.WatchCampaigns(ctx, dir, 5*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, dir
}

// campaignName is the name of the loaded campaign id, "" when none is.
func campaignName(e *worker.Engine, id string) string {
	c, ok := e.Campaign(id)
	if !ok {
		return ""
	}
	return c.Name
}

// TestHotReloadKeepsLastValidVersionOfABrokenFile: a running campaign whose
// file turns invalid keeps its last valid version, flagged as kept, until the
// file is fixed; a deleted file takes its campaign with it.
func TestHotReloadKeepsLastValidVersionOfABrokenFile(t *testing.T) {
	t.Parallel()
	e, dir := watched(t, map[string]string{"news.yaml": newsletterYAML})
	path := filepath.Join(dir, "news.yaml")
	if campaignName(e, "news") != "News" {
		t.Fatal("news not loaded at start")
	}
	writeFile(t, path, strings.Replace(newsletterYAML, "audience: email_consent", "audience: email_consnet", 1))
	waitUntil(t, 10*time.Second, "the broken file to be reported", func() bool {
		return len(e.BrokenCampaignFiles()) == 1
	})
	if b := e.BrokenCampaignFiles()[0]; b.File != path || b.Kept != "news" || !strings.HasPrefix(b.Problems[0], path+":4:") {
		t.Fatalf("broken = %+v, want %s keeping news", b, path)
	}
	if campaignName(e, "news") != "News" {
		t.Fatal("news stopped when its file broke; want its last valid version kept")
	}

	writeFile(t, path, strings.Replace(newsletterYAML, "name: News", "name: News v2", 1))
	waitUntil(t, 10*time.Second, "the fixed file to load", func() bool {
		return campaignName(e, "news") == "News v2" && len(e.BrokenCampaignFiles()) == 0
	})

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the deleted file's campaign to go", func() bool {
		return len(e.Campaigns()) == 0
	})
}

// TestDuplicateIDKeepsThePreviouslyLoadedCampaign: a new file reusing a
// running campaign's id is reported, and so is the running one's file; the
// running version goes on; removing the copy clears both reports.
func TestDuplicateIDKeepsThePreviouslyLoadedCampaign(t *testing.T) {
	t.Parallel()
	// "b-news.yaml" sorts after the copy "a-copy.yaml": the running
	// campaign must win by having run, not by its name.
	e, dir := watched(t, map[string]string{"b-news.yaml": newsletterYAML})
	copyPath := filepath.Join(dir, "a-copy.yaml")
	writeFile(t, copyPath, strings.Replace(newsletterYAML, "name: News", "name: Draft copy", 1))
	waitUntil(t, 10*time.Second, "both files to be reported", func() bool {
		return len(e.BrokenCampaignFiles()) == 2
	})
	broken := e.BrokenCampaignFiles()
	if broken[0].File != copyPath || broken[0].Kept != "" || broken[1].Kept != "news" ||
		!strings.Contains(broken[0].Problems[0], `duplicate campaign id "news"`) {
		t.Fatalf("broken = %+v, want the copy rejected and the running file kept", broken)
	}
	if campaignName(e, "news") != "News" {
		t.Fatalf("running campaign is %q, want the previously loaded News", campaignName(e, "news"))
	}
	if err := os.Remove(copyPath); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the reports to clear", func() bool {
		return len(e.BrokenCampaignFiles()) == 0 && campaignName(e, "news") == "News"
	})
}
