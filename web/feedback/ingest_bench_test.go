package feedback_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/channels"
	"github.com/tidings-crm/tidings/internal/loadgen"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/feedback"
)

// feedbackClients is how many providers' connections post at once.
const feedbackClients = 16

// BenchmarkFeedbackIngest measures provider callbacks recorded per second by
// the real HTTP server (net/http on a loopback port, the Mailgun route, its
// HMAC check and replay memory) into PostgreSQL: each a one-event request
// matched to its sent delivery row by Message-ID, 80% delivered, 15% hard
// bounces (a suppression, an events-log row, the campaign's safety check)
// and 5% complaints, with p50/p99 latency seen by 16 clients. The bodies are
// built and signed before the timed window. It fails unless every callback
// is recorded once. TIDINGS_BENCH_DURATION sets the window (default 60s),
// TIDINGS_BENCH_FEEDBACK_ROWS the sent rows (default 20,000).
func BenchmarkFeedbackIngest(b *testing.B) {
	window, err := loadgen.Window(60 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	rows := 20000
	if v := os.Getenv("TIDINGS_BENCH_FEEDBACK_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("TIDINGS_BENCH_FEEDBACK_ROWS=%q: a whole number of at least 100", v)
		}
		rows = n
	}
	const key = "key-bench-0123456789abcdef0123456789"
	st := storetest.Open(b, store.Postgres)
	ids := benchSentRows(b, st, rows)
	h, _, err := feedback.Handler(feedback.Options{Store: st, MailgunKey: key,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	base, _, err := loadgen.Serve(b, h)
	if err != nil {
		b.Fatal(err)
	}
	url := base + feedback.PathMailgun

	bodies := make([][]byte, len(ids))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	for i, id := range ids {
		event, severity := "delivered", ""
		switch i % 20 {
		case 0:
			event = "complained"
		case 1, 2, 3:
			event, severity = "failed", "permanent"
		}
		token := fmt.Sprintf("%050d", i)
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(ts + token))
		bodies[i], _ = json.Marshal(map[string]any{
			"signature": map[string]string{"timestamp": ts, "token": token, "signature": hex.EncodeToString(m.Sum(nil))},
			"event-data": map[string]any{"event": event, "severity": severity, "id": "bench-" + strconv.Itoa(i),
				"timestamp": time.Now().Unix(), "recipient": fmt.Sprintf("bench%d@example.com", i),
				"delivery-status": map[string]any{"code": 550, "message": "5.1.1 user unknown"},
				"message":         map[string]any{"headers": map[string]string{"message-id": "tidings." + strconv.FormatInt(id, 10) + "@shop.example"}}},
		})
	}

	hc, done := loadgen.Client(feedbackClients)
	defer done()
	var next atomic.Int64 // each callback once, whichever client is free
	res, err := loadgen.Run(b, feedbackClients, window, func(int, int) (time.Duration, error) {
		i := int(next.Add(1)) - 1
		if i >= len(bodies) {
			return 0, loadgen.Done
		}
		t0 := time.Now()
		resp, err := hc.Post(url, "application/json", bytes.NewReader(bodies[i]))
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("callback %d: %s", i, resp.Status)
		}
		return time.Since(t0), nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var stored int
	if err := st.DB.Get(&stored, `SELECT count(*) FROM delivery_feedback`); err != nil {
		b.Fatal(err)
	}
	if stored != res.N {
		b.Fatalf("%d callbacks answered 200, %d recorded", res.N, stored)
	}
	res.Report(b, "events/s")
}

// benchSentRows writes n customers, each with one sent email row of one of
// ten campaigns, and returns the rows' ids.
func benchSentRows(b *testing.B, st *store.Store, n int) []int64 {
	ctx := context.Background()
	var ids []int64
	for lo := 0; lo < n; lo += 1000 {
		hi := min(n, lo+1000)
		in := make([]store.CustomerInput, 0, hi-lo)
		for i := lo; i < hi; i++ {
			email, yes := fmt.Sprintf("bench%d@example.com", i), true
			in = append(in, store.CustomerInput{ExternalID: "b" + strconv.Itoa(i), Email: &email, EmailConsent: &yes})
		}
		if _, err := st.UpsertCustomers(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	var custIDs []int64
	if err := st.DB.Select(&custIDs, `SELECT id FROM customers ORDER BY id`); err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < len(custIDs); lo += 1000 {
		var rows []store.NewDelivery
		for i, c := range custIDs[lo:min(len(custIDs), lo+1000)] {
			rows = append(rows, store.NewDelivery{CampaignID: "bench-" + strconv.Itoa((lo+i)%10), CustomerID: c,
				Occurrence: "o", Channel: channels.Email, Status: store.StatusSent})
		}
		ins, err := st.InsertDeliveries(ctx, rows, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range ins {
			ids = append(ids, r.ID)
		}
	}
	if _, err := st.DB.Exec(`UPDATE deliveries SET provider_id = 'tidings.' || id || '@shop.example', sent_at = now()`); err != nil {
		b.Fatal(err)
	}
	return ids
}
