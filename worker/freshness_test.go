package worker_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// TestRunOverMissingScoresWarns: a campaign whose rule reads lifecycle, run
// over customers never refreshed, logs a warning naming the command that
// fixes it and counts them in tidings_stale_scores_total; a campaign that
// reads no score runs without the warning.
func TestRunOverMissingScoresWarns(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	const n = 8
	b.addCustomers(t, n, nil)
	scores := b.campaign(t, strings.Replace(strings.Replace(newsletterYAML, "id: news", "id: keep", 1),
		"audience: email_consent", `audience: email_consent && lifecycle != "churned"`, 1))
	plain := b.campaign(t, newsletterYAML)
	// The log goes to a file (os.File writes are safe from the worker's
	// goroutines) read back once the runs are done.
	logPath := filepath.Join(t.TempDir(), "worker.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	m := worker.NewMetrics(prometheus.NewRegistry())
	e := b.engineWith(t, worker.Options{Metrics: m, Logger: slog.New(slog.NewTextHandler(logFile, nil))}, scores, plain)
	b.startWorker(t, e, 2)
	ctx := context.Background()
	for _, id := range []string{"keep", "news"} {
		if err := e.Enqueue(ctx, id, "k1", time.Now()); err != nil {
			t.Fatal(err)
		}
		b.waitRun(t, id, "k1", 30*time.Second)
	}
	logs, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var warned []string
	for _, line := range strings.Split(string(logs), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, worker.RefreshCommand) {
			warned = append(warned, line)
		}
	}
	if len(warned) == 0 || !strings.Contains(warned[0], "campaign=keep") || !strings.Contains(warned[0], "missing=8") {
		t.Fatalf("want one warning for campaign keep with missing=8 and the fix; log:\n%s", logs)
	}
	for _, w := range warned {
		if strings.Contains(w, "campaign=news") {
			t.Errorf("campaign news reads no score but warned: %s", w)
		}
	}
	if got := testutil.ToFloat64(m.StaleScores.WithLabelValues("keep")); got != n {
		t.Errorf("tidings_stale_scores_total{keep} = %v, want %d", got, n)
	}
}
