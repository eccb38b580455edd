package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// fixedSource serves a fixed campaign list and report, to test the HTTP
// side (auth, routing, errors) apart from the engine; the browser test in
// cmd/tidings runs the dashboard on a real engine.
type fixedSource struct {
	report   worker.Report
	deferred worker.DeferredSummary
	err      error
}

func (fixedSource) Campaigns() []*campaigns.Campaign {
	return []*campaigns.Campaign{{ID: "spring", Name: "Spring sale"}}
}

func (s fixedSource) Status(_ context.Context, id string) (worker.CampaignStatus, error) {
	if s.err != nil {
		return worker.CampaignStatus{}, s.err
	}
	return worker.CampaignStatus{ID: id, Name: "Spring sale", Trigger: "schedule", Status: "active",
		Ledger: map[store.Status]int{"sent": 1200, "holdout": 300}}, nil
}

func (s fixedSource) Report(_ context.Context, id string) (worker.Report, error) {
	if id != "spring" {
		return worker.Report{}, fmt.Errorf("report: %w", store.ErrNotFound)
	}
	return s.report, s.err
}

func (s fixedSource) Deferred(_ context.Context, id string) (worker.DeferredSummary, error) {
	if id != "spring" {
		return worker.DeferredSummary{}, fmt.Errorf("deferred: %w", store.ErrNotFound)
	}
	return s.deferred, s.err
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time                       { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration)                  { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

const token = "s3cret-admin-token"

func newServer(t *testing.T, src Source) (*httptest.Server, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	h, err := New(Options{Source: src, Token: token, Now: clk.now, MonitoringPath: "/monitoring"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/dashboard", h)
	mux.Handle("/dashboard/", h)
	mux.Handle("/monitoring/", h.Protect(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "monitoring ui")
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, clk
}

type reply struct {
	status int
	body   string
	header http.Header
}

func get(t *testing.T, srv *httptest.Server, path string, edit func(*http.Request)) reply {
	t.Helper()
	return send(t, srv, http.MethodGet, path, edit)
}

func send(t *testing.T, srv *httptest.Server, method, path string, edit func(*http.Request)) reply {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	req.Header.Set("Accept", "text/html")
	if edit != nil {
		edit(req)
	}
	c := &http.Client{CheckRedirect: noRedirect}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b), resp.Header}
}

func login(t *testing.T, srv *httptest.Server, tok, next string) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: noRedirect}
	resp, err := c.PostForm(srv.URL+"/dashboard/login", url.Values{"token": {tok}, "next": {next}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func withCookie(c *http.Cookie) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(c) }
}

func TestNewNeedsToken(t *testing.T) {
	if _, err := New(Options{Source: fixedSource{}}); err == nil || !strings.Contains(err.Error(), "TIDINGS_ADMIN_TOKEN") {
		t.Fatalf("New without a token: %v", err)
	}
}

func TestWithoutTokenAnswers401(t *testing.T) {
	srv, _ := newServer(t, fixedSource{})
	for _, path := range []string{"/dashboard", "/dashboard/", "/dashboard/campaigns/spring", "/dashboard/nope", "/monitoring/"} {
		r := get(t, srv, path, nil)
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, `action="/dashboard/login"`) ||
			r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without token: %d %q", path, r.status, r.body)
		}
		if strings.Contains(r.body, "Spring sale") || strings.Contains(r.body, "monitoring ui") {
			t.Errorf("GET %s without token leaked the page", path)
		}
		if r := get(t, srv, path, bearer("wrong")); r.status != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d", path, r.status)
		}
	}
	// An API client (asynqmon's fetches) gets a line of text, not a form.
	r := get(t, srv, "/monitoring/api/queues", func(r *http.Request) { r.Header.Set("Accept", "application/json") })
	if r.status != http.StatusUnauthorized || strings.Contains(r.body, "<form") || !strings.Contains(r.body, "Bearer") {
		t.Errorf("API call without token: %d %q", r.status, r.body)
	}
}

func TestBearerTokenOpensPages(t *testing.T) {
	srv, _ := newServer(t, fixedSource{report: worker.Report{CampaignID: "spring", Name: "Spring sale",
		Verdict: "no evidence of effect yet: need about 4,200 more recipients"}})
	r := get(t, srv, "/dashboard", bearer(token))
	if r.status != http.StatusOK || !strings.Contains(r.body, `href="/dashboard/campaigns/spring"`) ||
		!strings.Contains(r.body, "sent 1,200") || !strings.Contains(r.body, "holdout 300") || !strings.Contains(r.body, "never run") {
		t.Fatalf("index: %d\n%s", r.status, r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	r = get(t, srv, "/dashboard/campaigns/spring", bearer(token))
	if r.status != http.StatusOK || !strings.Contains(r.body, "need about 4,200 more recipients") ||
		!strings.Contains(r.body, "keeps no holdout") || !strings.Contains(r.body, "Nothing sent yet") {
		t.Fatalf("campaign page: %d\n%s", r.status, r.body)
	}
	if r := get(t, srv, "/dashboard/campaigns/nope", bearer(token)); r.status != http.StatusNotFound ||
		!strings.Contains(r.body, "No such campaign") {
		t.Errorf("unknown campaign: %d %q", r.status, r.body)
	}
	if r := get(t, srv, "/monitoring/", bearer(token)); r.status != http.StatusOK || r.body != "monitoring ui" {
		t.Errorf("protected handler with token: %d %q", r.status, r.body)
	}
	// The stylesheet is public: the login form needs it.
	if r := get(t, srv, "/dashboard/style.css", nil); r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("style.css: %d %s", r.status, r.header.Get("Content-Type"))
	}
}

func TestDatabaseErrorsSay503(t *testing.T) {
	srv, _ := newServer(t, fixedSource{err: errors.New("connection refused")})
	for _, path := range []string{"/dashboard", "/dashboard/campaigns/spring"} {
		r := get(t, srv, path, bearer(token))
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "/readyz") ||
			strings.Contains(r.body, "connection refused") {
			t.Errorf("GET %s on a failing source: %d %q", path, r.status, r.body)
		}
	}
}

func TestLoginSetsSessionCookie(t *testing.T) {
	srv, clk := newServer(t, fixedSource{})
	if resp := login(t, srv, "wrong", "/dashboard"); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	resp := login(t, srv, token, "/monitoring/queues?x=1")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/monitoring/queues?x=1" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if c.Name != CookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge <= 0 {
		t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
	}
	if strings.Contains(c.Value, token) {
		t.Fatal("the cookie holds the token itself")
	}
	if r := get(t, srv, "/dashboard", withCookie(c)); r.status != http.StatusOK || !strings.Contains(r.body, "Spring sale") {
		t.Fatalf("with the session cookie: %d", r.status)
	}
	if r := get(t, srv, "/monitoring/", withCookie(c)); r.status != http.StatusOK {
		t.Fatalf("monitoring with the session cookie: %d", r.status)
	}

	// A cookie edited to last longer, or signed for another token, is refused.
	exp, mac, _ := strings.Cut(c.Value, ".")
	longer := &http.Cookie{Name: CookieName, Value: exp + "9." + mac}
	other := &http.Cookie{Name: CookieName, Value: newGuard("other", clk.now, nil).newSession()}
	for _, bad := range []*http.Cookie{longer, other, {Name: CookieName, Value: "garbage"}} {
		if r := get(t, srv, "/dashboard", withCookie(bad)); r.status != http.StatusUnauthorized {
			t.Errorf("cookie %q: %d, want 401", bad.Value, r.status)
		}
	}
	// Sessions lapse.
	clk.add(sessionTTL + time.Minute)
	if r := get(t, srv, "/dashboard", withCookie(c)); r.status != http.StatusUnauthorized {
		t.Errorf("expired cookie: %d, want 401", r.status)
	}
}

func TestLoginRedirectsOnlyHere(t *testing.T) {
	cases := map[string]string{
		"":                          "/dashboard",
		"/dashboard/campaigns/a":    "/dashboard/campaigns/a",
		"/monitoring":               "/monitoring",
		"https://evil.example/x":    "/dashboard",
		"//evil.example/dashboard":  "/dashboard",
		`/\evil.example`:            "/dashboard",
		"/dashboard/../v1/campaign": "/dashboard",
		"/v1/campaigns":             "/dashboard",
		"javascript:alert(1)":       "/dashboard",
	}
	for in, want := range cases {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoginGuessingIsThrottled(t *testing.T) {
	srv, clk := newServer(t, fixedSource{})
	var throttled bool
	for i := 0; i < 15 && !throttled; i++ {
		throttled = login(t, srv, fmt.Sprint("guess", i), "").StatusCode == http.StatusTooManyRequests
	}
	if !throttled {
		t.Fatal("15 wrong tokens in a row were never throttled")
	}
	// While throttled even the right token waits, so guessing cannot go on.
	if resp := login(t, srv, token, ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right token while throttled: %d", resp.StatusCode)
	}
	clk.add(1100 * time.Millisecond) // the throttle runs on the dashboard's clock
	if resp := login(t, srv, token, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("right token after a pause: %d", resp.StatusCode)
	}
}

// TestLogoutRevokesTheSession: logout clears the cookie and revokes the
// session on the server, so a copy of the cookie stops working; a logout
// from another site (no Origin of this server) is refused.
func TestLogoutRevokesTheSession(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, fixedSource{})
	c := login(t, srv, token, "").Cookies()[0]
	origin := func(o string) func(*http.Request) {
		return func(r *http.Request) { r.AddCookie(c); r.Header.Set("Origin", o) }
	}
	if r := send(t, srv, http.MethodPost, "/dashboard/logout", origin("https://evil.example")); r.status != http.StatusForbidden {
		t.Fatalf("logout from another site: %d, want 403", r.status)
	}
	if r := get(t, srv, "/dashboard", withCookie(c)); r.status != http.StatusOK {
		t.Fatalf("the session after a refused logout: %d, want 200", r.status)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/dashboard/logout", nil)
	origin(srv.URL)(req)
	resp, err := (&http.Client{CheckRedirect: noRedirect}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
		t.Fatalf("logout: %d %v", resp.StatusCode, resp.Cookies())
	}
	if r := get(t, srv, "/dashboard", withCookie(c)); r.status != http.StatusUnauthorized {
		t.Fatalf("the logged-out cookie, replayed: %d, want 401", r.status)
	}
}

// TestCookieWritesNeedThisOrigin: a state-changing request to a protected
// handler (asynqmon's delete, run, pause) on the session cookie must carry
// this server's Origin (or Referer); reads and bearer calls need none.
func TestCookieWritesNeedThisOrigin(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, fixedSource{})
	c := login(t, srv, token, "").Cookies()[0]
	with := func(origin, referer string) func(*http.Request) {
		return func(r *http.Request) {
			r.AddCookie(c)
			if origin != "" {
				r.Header.Set("Origin", origin)
			}
			if referer != "" {
				r.Header.Set("Referer", referer)
			}
		}
	}
	cases := []struct {
		method, origin, referer string
		want                    int
	}{
		{http.MethodDelete, "", "", http.StatusUnauthorized},
		{http.MethodPost, "https://evil.example", "", http.StatusUnauthorized},
		{http.MethodPost, "null", "", http.StatusUnauthorized},
		{http.MethodPost, srv.URL, "", http.StatusOK},
		{http.MethodDelete, "", srv.URL + "/monitoring/queues", http.StatusOK},
		{http.MethodGet, "", "", http.StatusOK},
	}
	for _, tc := range cases {
		if r := send(t, srv, tc.method, "/monitoring/api/queues/deliver/tasks", with(tc.origin, tc.referer)); r.status != tc.want {
			t.Errorf("%s origin %q referer %q: %d, want %d", tc.method, tc.origin, tc.referer, r.status, tc.want)
		}
	}
	if r := send(t, srv, http.MethodPost, "/monitoring/api/queues/deliver/tasks", bearer(token)); r.status != http.StatusOK {
		t.Errorf("POST with the bearer token and no Origin: %d, want 200", r.status)
	}
}

// TestLoginThrottleIsPerClient: one address guessing is throttled; the
// admin at another address logs in meanwhile.
func TestLoginThrottleIsPerClient(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	h, err := New(Options{Source: fixedSource{}, Token: token, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	post := func(from, tok string) int {
		req := httptest.NewRequest(http.MethodPost, "/dashboard/login", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = from
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	throttled := false
	for i := 0; i < 15 && !throttled; i++ {
		throttled = post("203.0.113.5:4000", fmt.Sprint("guess", i)) == http.StatusTooManyRequests
	}
	if !throttled {
		t.Fatal("15 wrong tokens from one address were never throttled")
	}
	if code := post("203.0.113.5:4001", token); code != http.StatusTooManyRequests {
		t.Fatalf("the guessing address, another port, right token: %d, want 429", code)
	}
	if code := post("198.51.100.7:5000", token); code != http.StatusSeeOther {
		t.Fatalf("the admin at another address: %d, want 303 (not locked out by the guesses)", code)
	}
}

// TestCampaignPageSaysNothingToJudgeYet: a campaign with a holdout but no
// conversion yet has no lift to draw; the page says there is nothing to
// judge yet, not that the campaign keeps no holdout, and prints the window
// as the report gives it.
func TestCampaignPageSaysNothingToJudgeYet(t *testing.T) {
	t.Parallel()
	verdict := "too early: no conversions yet in either arm (90 treated, 10 held out); lift can be judged once customers buy"
	srv, _ := newServer(t, fixedSource{report: worker.Report{CampaignID: "spring", Name: "Spring sale",
		AttributionWindow: "14d", Verdict: verdict,
		Arms:    []worker.ArmReport{{Arm: "all", Audience: 90, Sent: 90}, {Arm: "holdout", Audience: 10}},
		Treated: worker.ArmReport{Arm: "treated", Audience: 90, Sent: 90}}})
	r := get(t, srv, "/dashboard/campaigns/spring", bearer(token))
	if r.status != http.StatusOK || !strings.Contains(r.body, `id="no-lift">Nothing to judge yet`) ||
		strings.Count(r.body, verdict) != 2 || strings.Contains(r.body, "keeps no holdout") ||
		!strings.Contains(r.body, "window 14d.") || strings.Contains(r.body, `id="lift-chart"`) {
		t.Fatalf("campaign page: %d\n%s", r.status, r.body)
	}
}

// TestCampaignPageShowsOpensAndClicks: a tracked campaign's page has the
// opens and clicks per arm, machines apart; an untracked one has none.
func TestCampaignPageShowsOpensAndClicks(t *testing.T) {
	t.Parallel()
	rep := worker.Report{CampaignID: "spring", Name: "Spring sale",
		Arms:    []worker.ArmReport{{Arm: "all", Audience: 200, Sent: 200}},
		Treated: worker.ArmReport{Arm: "treated", Audience: 200, Sent: 200},
		Tracking: &worker.TrackingReport{Opens: true, Clicks: true, Arms: []worker.TrackedArm{
			{Arm: "all", Sent: 200, Opened: 50, OpenRate: 0.25, MachineOpened: 1234, Clicked: 9, ClickRate: 0.045, MachineClicked: 3, Clicks: 11}}}}
	srv, _ := newServer(t, fixedSource{report: rep})
	r := get(t, srv, "/dashboard/campaigns/spring", bearer(token))
	row := `<tr data-arm="all"><td>all</td><td class="num">200</td><td class="num">50</td><td class="num">25.00%</td><td class="num">1,234</td><td class="num">9</td><td class="num">4.50%</td><td class="num">3</td><td class="num">11</td></tr>`
	if r.status != http.StatusOK || !strings.Contains(r.body, `id="tracking"`) || !strings.Contains(r.body, row) {
		t.Fatalf("campaign page: %d\n%s", r.status, r.body)
	}
	rep.Tracking = nil
	srv, _ = newServer(t, fixedSource{report: rep})
	if r := get(t, srv, "/dashboard/campaigns/spring", bearer(token)); strings.Contains(r.body, `id="tracking"`) {
		t.Errorf("an untracked campaign shows opens and clicks")
	}
}
