//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/internal/wait"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
	"github.com/tidings-crm/tidings/web/dashboard"
	"github.com/tidings-crm/tidings/worker"
	"github.com/tidings-crm/tidings/worker/redistest"
)

const dashToken = "dash-test-admin-token"

const springYAML = `id: spring-sale
name: Spring sale
trigger: {schedule: {cron: "0 0 1 1 *"}}
audience: email_consent
channels: [email]
holdout: "25%"
attribution_window: 7d
messages: {email: {subject: Spring, text: "Spring sale. {{ .unsubscribe_url }}"}}
variants:
  - {id: discount, weight: 1}
  - {id: personal, weight: 1, messages: {email: {subject: "Spring, personal"}}}
`

const vipYAML = `id: vip-thanks
name: VIP thanks
trigger: {schedule: {cron: "0 0 1 1 *"}}
audience: orders_count >= 1 && total_spent >= 41
channels: [email]
messages: {email: {subject: Thanks, text: "Thanks. {{ .unsubscribe_url }}"}}
`

// TestDashboardInChromium runs `tidings serve` on PostgreSQL and Redis with
// a campaign whose ledger (two variants, a 25% holdout, failures) and
// purchases span eight days, runs a second campaign for real through the
// admin API, then checks the dashboard in headless Chromium: the page has
// the charts and the numbers of the JSON report, a screenshot shows the
// chart's colours; without the token every page answers 401. It also checks
// asynqmon at /monitoring.
func TestDashboardInChromium(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dbURL := storetest.URL(t, store.Postgres)
	_, ropt := redistest.Client(t)
	redisURL := fmt.Sprintf("redis://%s/%d", ropt.Addr, ropt.DB)
	dir := t.TempDir()
	for name, y := range map[string]string{"spring.yaml": springYAML, "vip.yaml": vipYAML} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seedSpringSale(t, ctx, dbURL, dir)

	base := serveForTest(t, ctx, "--database-url", dbURL, "--redis-url", redisURL, "--campaigns", dir,
		"--outbox", t.TempDir(), "--admin-token", dashToken)

	// Without the token: 401 everywhere, with nothing of the pages.
	for _, path := range []string{"/dashboard", "/dashboard/campaigns/spring-sale", "/monitoring", "/monitoring/api/queues"} {
		status, body := httpGet(t, base+path, "")
		if status != http.StatusUnauthorized || strings.Contains(body, "Spring sale") {
			t.Errorf("GET %s without token: %d", path, status)
		}
	}

	// Run the second campaign for real and wait until it is done.
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/campaigns/vip-thanks/run", nil)
	req.Header.Set("Authorization", "Bearer "+dashToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("run vip-thanks: %v %v", resp, err)
	}
	resp.Body.Close()
	vip := waitRunDone(t, base, "vip-thanks")
	if vip.Ledger["sent"] == 0 {
		t.Fatalf("vip-thanks sent nothing: %+v", vip)
	}

	var rep worker.Report
	status, body := httpGet(t, base+"/v1/campaigns/spring-sale/report", dashToken)
	if status != http.StatusOK || json.Unmarshal([]byte(body), &rep) != nil {
		t.Fatalf("JSON report: %d %s", status, body)
	}
	if len(rep.Arms) != 3 || rep.Lift == nil || len(rep.Daily) < 5 || rep.Treated.Conversions == 0 {
		t.Fatalf("the seeded campaign should report 3 arms, a lift and several days: %+v", rep)
	}

	checkMonitoring(t, base)

	// Chromium goes through a proxy that adds the session cookie the login
	// form sets, as a logged-in browser would send it.
	cookie := dashboardLogin(t, base)
	target, _ := url.Parse(base)
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = target.Host
		r.Out.AddCookie(cookie)
	}}
	viaLogin := httptest.NewServer(proxy)
	defer viaLogin.Close()

	// The campaign list, through the cookie as well.
	req, _ = http.NewRequest(http.MethodGet, base+"/dashboard", nil)
	req.AddCookie(cookie)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	index, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`href="/dashboard/campaigns/spring-sale"`, `href="/dashboard/campaigns/vip-thanks"`,
		"Spring sale", "VIP thanks", fmt.Sprintf("sent %d", vip.Ledger["sent"]), vip.LastRun.Occurrence, ">done<"} {
		if resp.StatusCode != http.StatusOK || !bytes.Contains(index, []byte(want)) {
			t.Errorf("campaign list (%d) lacks %q", resp.StatusCode, want)
		}
	}

	// Chromium: the page's DOM, its screenshot, and the page without the
	// cookie.
	shot := filepath.Join(t.TempDir(), "shot.png")
	page := viaLogin.URL + "/dashboard/campaigns/spring-sale"
	runs := runChromiums(t, chromium,
		[]string{"--dump-dom", page},
		[]string{"--screenshot=" + shot, "--window-size=1280,1000", page},
		[]string{"--dump-dom", base + "/dashboard/campaigns/spring-sale"})
	checkReportDOM(t, runs[0], rep)
	if !strings.Contains(runs[0], `id="deferred-total"`) {
		t.Errorf("the campaign page in Chromium lacks the deferred messages")
	}
	checkScreenshot(t, shot)
	if denied := runs[2]; !strings.Contains(denied, "Admin token required") || strings.Contains(denied, "daily-chart") ||
		strings.Contains(denied, rep.Verdict) {
		t.Errorf("Chromium without the cookie saw more than the login form:\n%s", denied)
	}
}

// seedSpringSale writes the spring-sale ledger over eight days with the
// engine's own arm assignment, and purchases: 20% of the treated and 10% of
// the holdout buy 36 hours after their (would-be) send.
func seedSpringSale(t *testing.T, ctx context.Context, dbURL, dir string) {
	t.Helper()
	list, problems := campaigns.Load(dir)
	if campaigns.HasErrors(problems) {
		t.Fatalf("campaigns: %v", problems)
	}
	var spring *campaigns.Campaign
	for _, c := range list {
		if c.ID == "spring-sale" {
			spring = c
		}
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 480
	yes := true
	var customers []store.CustomerInput
	for i := range n {
		email := fmt.Sprintf("c%04d@example.com", i)
		customers = append(customers, store.CustomerInput{ExternalID: fmt.Sprintf("c%04d", i), Email: &email, EmailConsent: &yes})
	}
	if _, err := st.UpsertCustomers(ctx, customers); err != nil {
		t.Fatal(err)
	}
	first := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -8)
	var purchases []store.PurchaseInput
	for i := range n {
		ext := fmt.Sprintf("c%04d", i)
		c, err := st.CustomerByExternalID(ctx, ext)
		if err != nil {
			t.Fatal(err)
		}
		at := first.AddDate(0, 0, i%6).Add(10 * time.Hour)
		held := worker.InHoldout(spring, c.ID)
		nd := store.NewDelivery{CampaignID: spring.ID, CustomerID: c.ID, Occurrence: "seed-" + fmt.Sprint(i%6), Channel: "email"}
		if held {
			nd.Status = store.StatusHoldout
		} else {
			nd.Status, nd.Variant = store.StatusPending, worker.AssignVariant(spring, c.ID)
		}
		rows, err := st.InsertDeliveries(ctx, []store.NewDelivery{nd}, at)
		if err != nil || len(rows) != 1 {
			t.Fatalf("insert delivery: %v %v", rows, err)
		}
		if !held {
			outcome := store.StatusSent
			if i%25 == 0 {
				outcome = store.StatusFailed
			}
			storetest.Claim(t, st, rows[0].ID, "seed", ext+"@example.com", at)
			if ok, err := st.FinishDelivery(ctx, rows[0].ID, "seed", outcome, "", "", at); err != nil || !ok {
				t.Fatalf("finish: %v %v", ok, err)
			}
		}
		if (held && i%10 == 0) || (!held && i%5 == 0) {
			purchases = append(purchases, store.PurchaseInput{OrderID: fmt.Sprintf("o%04d", i), CustomerExternalID: ext,
				AmountCents: 2000 + int64(i%7)*350, OccurredAt: at.Add(36 * time.Hour)})
		}
	}
	if _, err := st.UpsertPurchases(ctx, purchases); err != nil {
		t.Fatal(err)
	}
}

// serveForTest runs `tidings serve` in-process on a port of its choosing
// until the test ends, and returns its base URL once the command says
// (app.listening) that everything has started.
func serveForTest(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	var logs syncBuffer
	done := make(chan int, 1)
	listening := make(chan net.Addr, 1)
	a := &app{stdout: &logs, stderr: &logs, listening: func(addr net.Addr) { listening <- addr }}
	go func() {
		done <- a.run(ctx, append(args, "--http-addr", "127.0.0.1:0", "serve"))
	}()
	t.Cleanup(func() {
		cancel()
		start := time.Now()
		select {
		case <-done:
			t.Logf("tidings serve stopped in %.1fs", time.Since(start).Seconds())
		case <-time.After(30 * time.Second):
			t.Error("tidings serve did not stop within 30 s")
		}
		if t.Failed() {
			t.Logf("serve output:\n%s", logs.String())
		}
	})
	select {
	case addr := <-listening:
		return "http://" + addr.String()
	case code := <-done:
		done <- code // for the cleanup
		t.Fatalf("tidings serve exited with %d:\n%s", code, logs.String())
	case <-time.After(time.Minute):
		t.Fatalf("tidings serve did not start within a minute:\n%s", logs.String())
	}
	return ""
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func httpGet(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitRunDone(t *testing.T, base, id string) worker.CampaignStatus {
	t.Helper()
	var found worker.CampaignStatus
	var body string
	if !wait.UntilEvery(20*time.Second, 100*time.Millisecond, func() bool {
		var list []worker.CampaignStatus
		_, body = httpGet(t, base+"/v1/campaigns", dashToken)
		json.Unmarshal([]byte(body), &list)
		for _, c := range list {
			pending := c.Ledger[store.StatusPending] + c.Ledger[store.StatusSending]
			if c.ID == id && c.LastRun != nil && c.LastRun.Status == "done" && pending == 0 {
				found = c
				return true
			}
		}
		return false
	}) {
		t.Fatalf("%s did not finish within 20 s: %s", id, body)
	}
	return found
}

// checkMonitoring: asynqmon answers at /monitoring with its page and lists
// the tidings queues through its API.
func checkMonitoring(t *testing.T, base string) {
	t.Helper()
	for _, path := range []string{"/monitoring", "/monitoring/"} {
		status, body := httpGet(t, base+path, dashToken)
		if status != http.StatusOK || !strings.Contains(body, "<!doctype html>") || !strings.Contains(body, "/monitoring") {
			t.Errorf("GET %s with token: %d %.200s", path, status, body)
		}
	}
	status, body := httpGet(t, base+"/monitoring/api/queues", dashToken)
	var queues struct {
		Queues []struct {
			Queue     string `json:"queue"`
			Processed int    `json:"processed"`
		} `json:"queues"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &queues) != nil {
		t.Fatalf("asynqmon queues: %d %s", status, body)
	}
	found := map[string]bool{}
	for _, q := range queues.Queues {
		found[q.Queue] = true
	}
	if !found[worker.QueuePlan] || !found[worker.QueueDeliver] {
		t.Errorf("asynqmon lists queues %v, want %q and %q", found, worker.QueuePlan, worker.QueueDeliver)
	}
}

func dashboardLogin(t *testing.T, base string) *http.Cookie {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/dashboard/login", url.Values{"token": {dashToken}, "next": {"/dashboard"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == dashboard.CookieName && resp.StatusCode == http.StatusSeeOther {
			return ck
		}
	}
	t.Fatalf("login: %d, cookies %v", resp.StatusCode, resp.Cookies())
	return nil
}

// checkReportDOM finds every number of the JSON report in its row of the
// rendered page, formatted independently of the dashboard's code.
func checkReportDOM(t *testing.T, dom string, rep worker.Report) {
	t.Helper()
	p := message.NewPrinter(language.English)
	pp := func(v float64) string { return fmt.Sprintf("%+.2f pp", v*100) }
	arms := append(append([]worker.ArmReport{}, rep.Arms...), rep.Treated)
	for _, a := range arms {
		m := regexp.MustCompile(`(?s)<tr class="arm" data-arm="` + regexp.QuoteMeta(a.Arm) + `">(.*?)</tr>`).FindStringSubmatch(dom)
		if m == nil {
			t.Errorf("no row for arm %q", a.Arm)
			continue
		}
		cells := regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`).FindAllStringSubmatch(m[1], -1)
		var got []string
		for _, c := range cells {
			got = append(got, strings.TrimSpace(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(c[1], "")))
		}
		want := []string{a.Arm, p.Sprintf("%d", a.Audience), p.Sprintf("%d", a.Sent), p.Sprintf("%d", a.Delivered),
			p.Sprintf("%d", a.Failed), p.Sprintf("%d", a.Expired), p.Sprintf("%d", a.Conversions),
			fmt.Sprintf("%.2f%%", a.ConversionRate*100), p.Sprintf("%.2f", a.Revenue), p.Sprintf("%.2f", a.RevenuePerRecipient), "—"}
		if a.Lift != nil {
			want[10] = fmt.Sprintf("%s [%s, %s]", pp(a.Lift.Diff), pp(a.Lift.Low), pp(a.Lift.High))
		}
		if strings.Join(got, " | ") != strings.Join(want, " | ") {
			t.Errorf("arm %s row:\n got %q\nwant %q", a.Arm, got, want)
		}
	}
	for _, want := range []string{
		`<svg id="daily-chart"`, `<g class="series-sends"`, `<g class="series-conversions"><polyline points="`,
		`<svg id="lift-chart"`, "sends per day", "conversions per day", "day (UTC)",
		strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(rep.Verdict),
		fmt.Sprintf("%s to %s", pp(rep.Lift.Low), pp(rep.Lift.High)),
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// One bar per day from the first to the last active day, each titled
	// with the day's figures.
	bars := regexp.MustCompile(`(?s)<g class="series-sends"[^>]*>(.*?)</g>`).FindStringSubmatch(dom)
	if bars == nil {
		t.Fatal("no sends series")
	}
	for _, d := range rep.Daily {
		title := fmt.Sprintf("<title>%s: %s sent, %s conversions</title>", d.Day, p.Sprintf("%d", d.Sent), p.Sprintf("%d", d.Conversions))
		if !strings.Contains(bars[1], title) {
			t.Errorf("sends series lacks %q", title)
		}
	}
	first, _ := time.Parse(time.DateOnly, rep.Daily[0].Day)
	last, _ := time.Parse(time.DateOnly, rep.Daily[len(rep.Daily)-1].Day)
	if got, want := strings.Count(bars[1], "<rect"), int(last.Sub(first).Hours()/24)+1; got != want {
		t.Errorf("%d bars, want %d (one per day)", got, want)
	}
}

// checkScreenshot decodes the PNG and checks it is the window's size, not
// blank, and shows the sends bars and the conversions line in their colours.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 1000 {
		t.Fatalf("screenshot is %dx%d, want 1280x1000", b.Dx(), b.Dy())
	}
	sends, conv := hexRGB(dashboard.ColorSends), hexRGB(dashboard.ColorConversions)
	var nonWhite, sendPx, convPx int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			px := rgbAt(img, x, y)
			if px[0] < 240 || px[1] < 240 || px[2] < 240 {
				nonWhite++
			}
			if near(px, sends) {
				sendPx++
			}
			if near(px, conv) {
				convPx++
			}
		}
	}
	total := b.Dx() * b.Dy()
	t.Logf("screenshot: %.1f%% non-white, %d sends-blue and %d conversions-orange pixels", 100*float64(nonWhite)/float64(total), sendPx, convPx)
	if nonWhite < total/20 {
		t.Errorf("screenshot is nearly blank: %d of %d pixels are not white", nonWhite, total)
	}
	if sendPx < 2000 || convPx < 300 {
		t.Errorf("the chart's series are not visible: %d sends pixels, %d conversions pixels", sendPx, convPx)
	}
}

func hexRGB(s string) [3]int {
	var c [3]int
	fmt.Sscanf(s, "#%02x%02x%02x", &c[0], &c[1], &c[2])
	return c
}

func rgbAt(img image.Image, x, y int) [3]int {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
}

func near(a, b [3]int) bool {
	d := 0
	for i := range a {
		if a[i] > b[i] {
			d += a[i] - b[i]
		} else {
			d += b[i] - a[i]
		}
	}
	return d <= 24
}

// chromiumPath finds headless Chromium, or fails saying how to install it:
// the dashboard's acceptance test must not pass by skipping.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TIDINGS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("headless Chromium is needed for the dashboard test and was not found: install it with " +
		"`apt-get install -y chromium` (Debian; scripts/test-services.sh does it when run as root), " +
		"or set TIDINGS_CHROMIUM to its path")
	return ""
}

// runChromiums runs headless Chromium once per argument list, one after the
// other (a run starts several processes: at once they only compete for the
// cores), each with a fresh profile, and returns their standard outputs
// (the DOM for --dump-dom).
func runChromiums(t *testing.T, chromium string, runs ...[]string) []string {
	t.Helper()
	var outs []string
	for _, args := range runs {
		start := time.Now()
		out, err := runChromium(chromium, t.TempDir(), args)
		if err != nil {
			t.Fatalf("chromium %v: %v", args, err)
		}
		t.Logf("chromium %s: %.1fs", args[0], time.Since(start).Seconds())
		outs = append(outs, out)
	}
	return outs
}

func runChromium(chromium, profile string, args []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--user-data-dir=" + profile}, args...)
	cmd := exec.CommandContext(ctx, chromium, all...)
	// Chromium starts helper processes: run it in its own group and end the
	// whole group on timeout, so none is left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, errOut.String())
	}
	return out.String(), nil
}
