package chaos

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/cmd/tidings/internal/cluster"
	"github.com/tidings-crm/tidings/internal/wait"
	"github.com/tidings-crm/tidings/triggers"
)

// thanksYAML answers every purchase event with an email.
const thanksYAML = `id: thanks
name: Thanks
trigger: {event: {type: purchase}}
audience: email_consent
channels: [email]
frequency: {class: transactional}
messages:
  email:
    subject: "Thanks"
    text: "Thanks for order {{ .event.order_id }}"
`

// sample is one scrape of a process's /metrics.
type sample struct {
	goroutines float64
	rss        float64
}

// TestSoakMixedLoad is the soak of issue 7: two serve processes (HTTP,
// scheduler, workers) take signed purchase webhooks (each answered by an
// event campaign's email) and a newsletter run every 15 s through the admin
// API, for 30 minutes (short form 60 s). Goroutines and resident memory,
// read from each process's /metrics, stay flat: the second half's peak is
// within a margin of the first half's (after a warm-up); and every message
// of every run and event arrives once.
func TestSoakMixedLoad(t *testing.T) {
	drill(t)
	span := pick(30*time.Minute, 60*time.Second)
	n := pick(1000, 200)
	key := make([]byte, 32)
	rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	ctx := context.Background()
	c := cluster.New(t, cluster.Options{
		DatabaseURL: cluster.SharedDatabase(t),
		Campaigns:   map[string]string{"news.yaml": cluster.NewsletterYAML, "thanks.yaml": thanksYAML},
		Env:         []string{"TIDINGS_WEBHOOK_SECRET=" + secret},
	})
	c.Seed(ctx, n)
	servers := []*cluster.Process{c.Start("serve"), c.Start("serve")}

	var mu sync.Mutex
	samples := map[string][]sample{}
	loadCtx, stopLoad := context.WithTimeout(ctx, span)
	defer stopLoad()
	var wg sync.WaitGroup
	var events, runs int
	wg.Add(3)
	go func() { // webhooks: about 20 a second, alternating servers
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; loadCtx.Err() == nil; i++ {
			postPurchase(t, c, servers[i%2], secret, i, n)
			events++
			select {
			case <-loadCtx.Done():
			case <-tick.C:
			}
		}
	}()
	go func() { // a newsletter run every 15 s
		defer wg.Done()
		for loadCtx.Err() == nil {
			runNow(t, c, servers[runs%2], fmt.Sprintf("soak-%d", runs))
			runs++
			select {
			case <-loadCtx.Done():
			case <-time.After(15 * time.Second):
			}
		}
	}()
	go func() { // metrics every 2 s
		defer wg.Done()
		for loadCtx.Err() == nil {
			for _, s := range servers {
				if m, err := scrape(c, s); err == nil {
					mu.Lock()
					samples[s.Name] = append(samples[s.Name], m)
					mu.Unlock()
				}
			}
			select {
			case <-loadCtx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}()
	wg.Wait()
	loadEnd := time.Now()
	waitQuiet(t, c, 4*time.Minute)
	recover := time.Since(loadEnd)
	c.WaitQueuesIdle(cluster.TaskSettle)

	for name, ss := range samples {
		checkFlat(t, name, ss)
	}
	var unanswered int
	if err := c.Store.DB.GetContext(ctx, &unanswered, `SELECT count(*) FROM webhook_inbox i WHERE NOT EXISTS
		(SELECT 1 FROM deliveries d WHERE d.campaign_id = 'thanks' AND d.event_id = i.event_id)`); err != nil {
		t.Fatal(err)
	}
	if unanswered != 0 {
		t.Errorf("%d purchase events have no thanks row in the ledger", unanswered)
	}
	rep := c.Check(ctx, "", 0)
	if rep.Unknown != 0 {
		t.Errorf("%d rows unknown: no process died", rep.Unknown)
	}
	record(t, fmt.Sprintf("f. soak %s webhooks+runs", span), rep, recover,
		fmt.Sprintf("%d webhooks, %d runs; %s", events, runs, flatSummary(samples)))
}

// postPurchase sends one signed purchase event for customer i%n+1.
func postPurchase(t *testing.T, c *cluster.Cluster, s *cluster.Process, secret string, i, n int) {
	id := fmt.Sprintf("evt-%d-%d", time.Now().UnixNano(), i)
	body := fmt.Sprintf(`{"event_id":%q,"type":"purchase","customer":{"external_id":"c%d"},"order_id":"o-%s","amount":12.50,"currency":"USD","quantity":1,"occurred_at":%q}`,
		id, i%n+1, id, time.Now().UTC().Format(time.RFC3339))
	req, err := triggers.SignedRequest(context.Background(), secret, "http://"+s.HTTPAddr+triggers.PathPurchase, id, time.Now(), []byte(body))
	if err != nil {
		t.Error(err)
		return
	}
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Errorf("webhook to %s: %v", s.Name, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		t.Errorf("webhook to %s: %s %s", s.Name, resp.Status, b.String())
	}
}

// runNow fires the newsletter through the admin API, as the named
// occurrence: an extra send on purpose, each time.
func runNow(t *testing.T, c *cluster.Cluster, s *cluster.Process, occurrence string) {
	body := strings.NewReader(fmt.Sprintf(`{"occurrence": %q}`, occurrence))
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.HTTPAddr+"/v1/campaigns/news/run", body)
	req.Header.Set("Authorization", "Bearer "+c.AdminToken)
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Errorf("run now on %s: %v", s.Name, err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("run now on %s: %s", s.Name, resp.Status)
	}
}

// scrape reads go_goroutines and process_resident_memory_bytes.
func scrape(c *cluster.Cluster, s *cluster.Process) (sample, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.HTTPAddr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+c.AdminToken)
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		return sample{}, err
	}
	defer resp.Body.Close()
	var m sample
	found := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "go_goroutines":
			m.goroutines, err = strconv.ParseFloat(val, 64)
			found++
		case "process_resident_memory_bytes":
			m.rss, err = strconv.ParseFloat(val, 64)
			found++
		}
		if err != nil {
			return m, err
		}
	}
	if found != 2 {
		return m, fmt.Errorf("/metrics of %s lacks go_goroutines or process_resident_memory_bytes", s.Name)
	}
	return m, sc.Err()
}

// checkFlat drops the first quarter (warm-up) and compares the last half
// with the half before it. Goroutines compare by median, +20% +10: a run's
// shard and send tasks are a burst of goroutines that ends with the run,
// and a burst sampled in one half only is not a leak, while a leak lifts
// the level every sample sees. RSS compares by peak, +25% +16 MiB: the Go
// runtime returns memory slowly, so a peak that keeps rising is a leak.
func checkFlat(t *testing.T, name string, ss []sample) {
	t.Helper()
	if len(ss) < 8 {
		t.Errorf("%s: only %d metric samples", name, len(ss))
		return
	}
	ss = ss[len(ss)/4:]
	a, b := ss[:len(ss)/2], ss[len(ss)/2:]
	values := func(s []sample, f func(sample) float64) []float64 {
		v := make([]float64, len(s))
		for i := range s {
			v[i] = f(s[i])
		}
		slices.Sort(v)
		return v
	}
	peak := func(s []sample, f func(sample) float64) float64 { return slices.Max(values(s, f)) }
	median := func(s []sample, f func(sample) float64) float64 { v := values(s, f); return v[len(v)/2] }
	g := func(s sample) float64 { return s.goroutines }
	r := func(s sample) float64 { return s.rss }
	if ga, gb := median(a, g), median(b, g); gb > ga*1.2+10 {
		t.Errorf("%s: goroutines grew: median %.0f then %.0f (peaks %.0f, %.0f)", name, ga, gb, peak(a, g), peak(b, g))
	}
	if ra, rb := peak(a, r), peak(b, r); rb > ra*1.25+16<<20 {
		t.Errorf("%s: RSS grew: peak %.1f MiB then %.1f MiB", name, ra/(1<<20), rb/(1<<20))
	}
}

func flatSummary(samples map[string][]sample) string {
	var parts []string
	for name, ss := range samples {
		if len(ss) == 0 {
			continue
		}
		f, l := ss[0], ss[len(ss)-1]
		parts = append(parts, fmt.Sprintf("%s goroutines %.0f->%.0f RSS %.0f->%.0f MiB", name,
			f.goroutines, l.goroutines, f.rss/(1<<20), l.rss/(1<<20)))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// waitQuiet waits until every run is evaluated and no ledger row is
// unfinished (and the event inbox is processed).
func waitQuiet(t *testing.T, c *cluster.Cluster, timeout time.Duration) {
	t.Helper()
	var open, runs, inbox int
	var err error
	if !wait.UntilEvery(timeout, 500*time.Millisecond, func() bool {
		ctx := context.Background()
		err = c.Store.DB.GetContext(ctx, &open,
			`SELECT count(*) FROM deliveries WHERE status IN ('pending', 'deferred', 'sending')`)
		if err == nil {
			err = c.Store.DB.GetContext(ctx, &runs, `SELECT count(*) FROM campaign_runs WHERE status <> 'done'`)
		}
		if err == nil {
			err = c.Store.DB.GetContext(ctx, &inbox, `SELECT count(*) FROM webhook_inbox WHERE status <> 'processed'`)
		}
		return err == nil && open == 0 && runs == 0 && inbox == 0
	}) {
		t.Fatalf("not quiet after %s: %d unfinished rows, %d runs not done, %d events not processed, err %v",
			timeout, open, runs, inbox, err)
	}
}
