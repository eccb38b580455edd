package worker_test

import (
	"context"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
)

// TestOnceOnlyWithTwoWorkersAndTwoSchedulers fires the same occurrence four
// times from two engines (two schedulers, each enqueuing twice) processed by
// two workers: every customer gets exactly one message, and the SMTP server
// receives well-formed MIME with the RFC 8058 headers.
func TestOnceOnlyWithTwoWorkersAndTwoSchedulers(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			const n = 240
			b.addCustomers(t, n, nil)
			c := b.campaign(t, newsletterYAML)
			e1, e2 := b.engine(t, c), b.engine(t, c)
			b.startWorker(t, e1, 4)
			b.startWorker(t, e2, 4)
			ctx := context.Background()
			at := time.Now()
			for _, e := range []interface {
				Enqueue(context.Context, string, string, time.Time) error
			}{e1, e2, e1, e2} {
				if err := e.Enqueue(ctx, "news", "2026-11-23T09:00Z", at); err != nil {
					t.Fatal(err)
				}
			}
			b.waitRun(t, "news", "2026-11-23T09:00Z", 60*time.Second)
			// Fire again after the run finished: still nothing more.
			if err := e2.Enqueue(ctx, "news", "2026-11-23T09:00Z", at); err != nil {
				t.Fatal(err)
			}
			b.waitIdle(t) // the second firing's task has been handled
			b.waitRun(t, "news", "2026-11-23T09:00Z", 30*time.Second)

			if got := b.counts(t, "news"); got[store.StatusSent] != n || len(got) != 1 {
				t.Fatalf("ledger = %v, want %d sent and nothing else", got, n)
			}
			msgs := b.smtp.Messages()
			if len(msgs) != n {
				t.Fatalf("SMTP server received %d messages, want %d", len(msgs), n)
			}
			seen := map[string]bool{}
			for _, m := range msgs {
				to := strings.Join(m.To, ",")
				if seen[to] {
					t.Fatalf("%s received twice", to)
				}
				seen[to] = true
			}
			checkMIME(t, msgs[0].Data)
			if runs, _ := b.st.CountRuns(ctx, "news"); runs != 1 {
				t.Errorf("campaign_runs has %d rows, want 1", runs)
			}
		})
	}
}

func checkMIME(t *testing.T, data []byte) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("message does not parse: %v", err)
	}
	h := msg.Header
	if !strings.HasPrefix(h.Get("List-Unsubscribe"), "<https://shop.test/u/") {
		t.Errorf("List-Unsubscribe = %q", h.Get("List-Unsubscribe"))
	}
	if h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", h.Get("List-Unsubscribe-Post"))
	}
	if h.Get("Message-ID") == "" {
		t.Error("no Message-ID")
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" || params["boundary"] == "" {
		t.Errorf("Content-Type = %q (%v)", h.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(h.Get("Subject"), "News for") {
		t.Errorf("Subject = %q", h.Get("Subject"))
	}
}
