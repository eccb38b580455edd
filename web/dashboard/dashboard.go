// Package dashboard serves the operator's web pages: the campaigns with
// their state, last run and ledger, and per campaign the report (arms,
// lift with its interval, verdict, daily sends and conversions).
//
// Pages are rendered on the server with html/template and inline SVG charts:
// no script, no framework, nothing fetched from elsewhere, so the dashboard
// works offline and behind strict proxies. Every page needs the admin token,
// as a Bearer header or through the session cookie the login form sets;
// Protect puts other handlers (the asynqmon UI) behind the same check.
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// Source is what the dashboard reads; *worker.Engine provides it.
type Source interface {
	Campaigns() []*campaigns.Campaign
	Status(ctx context.Context, id string) (worker.CampaignStatus, error)
	Report(ctx context.Context, id string) (worker.Report, error)
	Deferred(ctx context.Context, id string) (worker.DeferredSummary, error)
}

// CampaignFiles says which campaign files did not load; *worker.Engine
// provides it. Every page shows them in a banner, since a typo in a file
// otherwise only shows as a campaign that quietly stopped changing.
type CampaignFiles interface {
	BrokenCampaignFiles() []worker.BrokenFile
}

// Options configure the dashboard.
type Options struct {
	Source Source
	// Files, when set, feeds the banner of broken campaign files.
	Files CampaignFiles
	// Token is the admin token (TIDINGS_ADMIN_TOKEN); required.
	Token  string
	Logger *slog.Logger
	// Now is the clock for session expiry and the login throttle; time.Now
	// when nil.
	Now func() time.Time
	// MonitoringPath, when set, is linked from the pages (asynqmon).
	MonitoringPath string
	// Revocations holds the sessions ended by logout; nil: this process's
	// memory (enough for one serve process).
	Revocations Revocations
	// Surveys feeds the satisfaction page (/dashboard/surveys); nil: none.
	Surveys Surveys
	// Hooks, when set, feeds the outgoing webhooks page (its counts and
	// dead-letter list); *store.Store provides it.
	Hooks HookSource
	// Customers, when set, feeds the Customers page (/dashboard/customers);
	// *store.Store provides it.
	Customers CustomerSource
}

// HookSource is what the outgoing webhooks page reads.
type HookSource interface {
	HookCounts(ctx context.Context) (map[store.HookStatus]int, error)
	Hooks(ctx context.Context, status store.HookStatus, limit int) ([]store.HookRow, error)
}

// Handler serves the dashboard under /dashboard.
type Handler struct {
	opts  Options
	guard *guard
	pages map[string]*template.Template
	mux   *http.ServeMux
}

//go:embed templates/*.html templates/style.css
var files embed.FS

// New builds the dashboard. It fails without a token or a source: an
// unprotected dashboard would show customer counts and revenue to anyone.
func New(opts Options) (*Handler, error) {
	if opts.Token == "" {
		return nil, errors.New("dashboard: an admin token is required (set TIDINGS_ADMIN_TOKEN)")
	}
	if opts.Source == nil {
		return nil, errors.New("dashboard: no source of campaigns")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, guard: newGuard(opts.Token, opts.Now, opts.Revocations), pages: map[string]*template.Template{}}
	funcs := template.FuncMap{"count": Count, "percent": Percent, "points": Points, "money": Money,
		"relative": Relative, "pvalue": PValue, "when": whenAny, "window": Window,
		"countInt": func(n int) string { return Count(int64(n)) },
		"npsCell":  func(r worker.SurveyReport) string { return NPSCell(&r) },
		// SVG geometry: coordinates with one decimal and a little arithmetic.
		"f1":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
		"add":  func(a, b float64) float64 { return a + b },
		"sub":  func(a, b float64) float64 { return a - b },
		"half": func(a, b float64) float64 { return (a + b) / 2 }}
	for _, name := range []string{"index", "campaign", "login", "problem", "webhooks", "surveys", "customers"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	css, err := files.ReadFile("templates/style.css")
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dashboard/style.css", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(css)
	})
	mux.HandleFunc("GET /dashboard/login", h.loginForm)
	mux.HandleFunc("POST /dashboard/login", h.login)
	mux.HandleFunc("POST /dashboard/logout", h.logout)
	mux.Handle("GET /dashboard", h.Protect(http.HandlerFunc(h.index)))
	mux.Handle("GET /dashboard/{$}", h.Protect(http.HandlerFunc(h.index)))
	mux.Handle("GET /dashboard/campaigns/{id}", h.Protect(http.HandlerFunc(h.campaign)))
	mux.Handle("GET /dashboard/surveys", h.Protect(http.HandlerFunc(h.surveys)))
	mux.Handle("GET /dashboard/customers", h.Protect(http.HandlerFunc(h.customers)))
	mux.Handle("GET /dashboard/webhooks", h.Protect(http.HandlerFunc(h.webhooks)))
	mux.Handle("/dashboard/", h.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.problem(w, http.StatusNotFound, "No such page", "There is no dashboard page at "+r.URL.Path+".")
	})))
	h.mux = mux
	return h, nil
}

// ServeHTTP serves /dashboard and below.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

// Protect admits requests with the admin token (Bearer header or session
// cookie) to next, and answers others 401: with the login form for a
// browser, with a one-line text otherwise.
func (h *Handler) Protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.guard.admits(r) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="tidings"`)
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet || !acceptsHTML(r) {
			http.Error(w, "admin token required: send Authorization: Bearer <TIDINGS_ADMIN_TOKEN> or log in at /dashboard/login", http.StatusUnauthorized)
			return
		}
		h.render(w, http.StatusUnauthorized, "login", loginPage{Next: r.URL.RequestURI()})
	})
}

// acceptsHTML is true for browsers and for clients that state no
// preference; API calls (asynqmon's fetches) ask for JSON.
func acceptsHTML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return a == "" || a == "*/*" || strings.Contains(a, "text/html")
}

type page struct {
	Title      string
	LoggedIn   bool
	Monitoring string
	Webhooks   bool // link the outgoing webhooks page
	Customers  bool // link the Customers page
	Broken     []worker.BrokenFile
	Data       any
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	p := page{LoggedIn: name != "login", Monitoring: h.opts.MonitoringPath, Webhooks: h.opts.Hooks != nil,
		Customers: h.opts.Customers != nil, Data: data}
	if p.LoggedIn && h.opts.Files != nil {
		p.Broken = h.opts.Files.BrokenCampaignFiles()
	}
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		h.opts.Logger.Error("dashboard: render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy",
		"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type problemPage struct{ Heading, Text string }

func (h *Handler) problem(w http.ResponseWriter, status int, heading, text string) {
	h.render(w, status, "problem", problemPage{heading, text})
}

// ledgerOrder is the order ledger statuses are listed in.
var ledgerOrder = store.Statuses

type ledgerCount struct {
	Status store.Status
	N      int64
}

type campaignRow struct {
	worker.CampaignStatus
	Counts []ledgerCount
	Total  int64
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	var rows []campaignRow
	for _, c := range h.opts.Source.Campaigns() {
		cs, err := h.opts.Source.Status(r.Context(), c.ID)
		if err != nil {
			h.opts.Logger.Error("dashboard: campaign status", "campaign", c.ID, "err", err)
			h.problem(w, http.StatusServiceUnavailable, "Database unavailable",
				"The campaign list could not be read from the database. Check /readyz and the server log, then reload.")
			return
		}
		rows = append(rows, campaignRow{CampaignStatus: cs, Counts: ledgerCounts(cs.Ledger)})
		for _, n := range cs.Ledger {
			rows[len(rows)-1].Total += int64(n)
		}
	}
	h.render(w, http.StatusOK, "index", rows)
}

// ledgerCounts lists the non-zero counts in a fixed order, unknown statuses
// last.
func ledgerCounts(m map[store.Status]int) []ledgerCount {
	var out []ledgerCount
	seen := map[store.Status]bool{}
	for _, s := range ledgerOrder {
		seen[s] = true
		if m[s] > 0 {
			out = append(out, ledgerCount{s, int64(m[s])})
		}
	}
	for s, n := range m {
		if !seen[s] && n > 0 {
			out = append(out, ledgerCount{s, int64(n)})
		}
	}
	return out
}

type reportPage struct {
	worker.Report
	Daily *dailyChart
	Lift  *liftChart
	// Graph draws a journey's steps with their counts (nil for a campaign).
	Graph *journeyGraph
	// HasHoldout shows the pooled "treated" row, compared with the holdout.
	HasHoldout bool
	// Deferred is when the waiting messages go out; nil when it could not
	// be read (the rest of the page still shows).
	Deferred *worker.DeferredSummary
}

func (h *Handler) campaign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rep, err := h.opts.Source.Report(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.problem(w, http.StatusNotFound, "No such campaign",
			"No campaign "+id+" is loaded and none has a ledger. See the list of campaigns.")
		return
	case err != nil:
		h.opts.Logger.Error("dashboard: report", "campaign", id, "err", err)
		h.problem(w, http.StatusServiceUnavailable, "Report unavailable",
			"The report of "+id+" could not be computed. Check /readyz and the server log, then reload.")
		return
	}
	p := reportPage{Report: rep, Daily: newDailyChart(rep.Daily), Lift: newLiftChart(lifts(rep)), Graph: newJourneyGraph(rep.Journey)}
	if d, err := h.opts.Source.Deferred(r.Context(), id); err != nil {
		h.opts.Logger.Error("dashboard: deferred messages", "campaign", id, "err", err)
	} else {
		p.Deferred = &d
	}
	for _, a := range rep.Arms {
		if a.Arm == "holdout" {
			p.HasHoldout = true
		}
	}
	h.render(w, http.StatusOK, "campaign", p)
}

// lifts lists the arms to draw on the lift chart: each variant with a lift,
// then the variants pooled when there are several.
func lifts(rep worker.Report) []armLift {
	var out []armLift
	for _, a := range rep.Arms {
		if a.Lift != nil {
			out = append(out, armLift{a.Arm, a.Lift})
		}
	}
	if rep.Lift != nil && len(out) != 1 {
		out = append(out, armLift{"all variants", rep.Lift})
	}
	if rep.Journey != nil {
		for _, a := range rep.Journey.Splits {
			if a.Lift != nil {
				out = append(out, armLift{"split " + a.Arm, a.Lift})
			}
		}
	}
	return out
}
