package worker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/web/admin"
	"github.com/tidings-crm/tidings/worker"
)

// TestAdminPauseHoldsMessagesAndResumeSendsThem drives the admin API: a
// paused campaign refuses a manual run and holds messages already planned;
// resumed, it sends them; the list shows the state, last run and ledger.
func TestAdminPauseHoldsMessagesAndResumeSendsThem(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	const n = 6
	b.addCustomers(t, n, nil)
	c := b.campaign(t, newsletterYAML)
	e := b.engineWith(t, worker.Options{PauseRecheck: 300 * time.Millisecond}, c)
	srv := httptest.NewServer(admin.Handler(e, quietLogger()))
	defer srv.Close()
	post := func(path string, want int) map[string]any {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != want {
			t.Fatalf("POST %s = %d %v, want %d", path, resp.StatusCode, body, want)
		}
		return body
	}

	// Plan a run with no worker sending, then pause: the rows are held.
	if err := e.Enqueue(context.Background(), "news", "k1", time.Now()); err != nil {
		t.Fatal(err)
	}
	post("/v1/campaigns/news/pause", http.StatusOK)
	post("/v1/campaigns/news/run", http.StatusConflict) // paused: no new runs
	post("/v1/campaigns/nope/pause", http.StatusNotFound)
	b.startWorker(t, e, 4)
	waitFor(t, func() bool { return b.counts(t, "news")[store.StatusDeferred] == n })
	// Held rows come back every 300 ms: wait until each was looked at again
	// (held anew, a later not_before) while still paused.
	first := b.deliveries(t, "news")
	waitFor(t, func() bool {
		for ext, d := range b.deliveries(t, "news") {
			if d.Status != store.StatusDeferred || d.NotBefore == nil || !d.NotBefore.After(*first[ext].NotBefore) {
				return false
			}
		}
		return true
	})
	if got := len(b.smtp.Messages()); got != 0 {
		t.Fatalf("a paused campaign sent %d messages", got)
	}

	// Resume: the held rows go out at their next look, once each.
	body := post("/v1/campaigns/news/resume", http.StatusOK)
	if body["paused"] != false {
		t.Fatalf("resume answered %v", body)
	}
	waitFor(t, func() bool { return b.counts(t, "news")[store.StatusSent] == n })
	if got := len(b.smtp.Messages()); got != n {
		t.Fatalf("SMTP server received %d messages, want %d", got, n)
	}

	resp, err := http.Get(srv.URL + "/v1/campaigns")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []worker.CampaignStatus
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != "news" || list[0].Paused || list[0].Ledger["sent"] != n ||
		list[0].LastRun == nil || list[0].LastRun.Occurrence != "k1" {
		t.Fatalf("campaign list = %+v", list)
	}
}
