package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
	"github.com/tidings-crm/tidings/web/admin"
	"github.com/tidings-crm/tidings/web/openapi"
	"github.com/tidings-crm/tidings/web/survey"
	"github.com/tidings-crm/tidings/web/tracking"
	"github.com/tidings-crm/tidings/web/unsubscribe"
	"github.com/tidings-crm/tidings/worker"
)

// signer returns the unsubscribe-link signer from TIDINGS_SIGNING_KEY, or a
// random per-process key (links then stop working at restart; fine for the
// demo, warned about otherwise).
func (a *app) signer() unsubscribe.Signer {
	if a.cfg.SigningKey != "" {
		return unsubscribe.Signer{Key: []byte(a.cfg.SigningKey)}
	}
	key := make([]byte, 32)
	rand.Read(key)
	a.log.Warn("TIDINGS_SIGNING_KEY is not set: unsubscribe links are signed with a random key and stop working when this process restarts")
	return unsubscribe.Signer{Key: key}
}

// unsubscribeURL builds the one-click link for a delivery.
func unsubscribeURL(s unsubscribe.Signer, base string) func(d *store.Delivery) string {
	return func(d *store.Delivery) string {
		return s.URL(base, unsubscribe.Subject{DeliveryID: d.ID, CustomerID: d.CustomerID, Channel: d.Channel, Campaign: d.CampaignID})
	}
}

// surveyURL builds a survey message's answer link for one score.
func surveyURL(s unsubscribe.Signer, base string) func(d *store.Delivery, kind campaigns.SurveyKind, score int) string {
	return func(d *store.Delivery, kind campaigns.SurveyKind, score int) string {
		return s.SurveyURL(base, unsubscribe.SurveySubject{DeliveryID: d.ID, CustomerID: d.CustomerID,
			Campaign: d.CampaignID, Kind: kind, Score: score})
	}
}

// preferencesURL builds the link to the customer's preference page for a
// delivery.
func preferencesURL(s unsubscribe.Signer, base string) func(d *store.Delivery) string {
	return func(d *store.Delivery) string {
		return s.PreferencesURL(base, unsubscribe.Subject{DeliveryID: d.ID, CustomerID: d.CustomerID, Channel: d.Channel, Campaign: d.CampaignID})
	}
}

// confirmURL signs the double opt-in confirmation links.
func confirmURL(s unsubscribe.Signer, base string) func(store.ConsentRequest) string {
	return func(r store.ConsentRequest) string { return s.ConfirmURL(base, r.ID, r.CustomerID) }
}

// trackHTML puts a campaign's tracking into an email's HTML part, signed
// with the unsubscribe links' key.
func trackHTML(s unsubscribe.Signer, base string) func(*store.Delivery, campaigns.Tracking, string, string, time.Time) string {
	rw := tracking.Rewriter{Tokens: tracking.Tokens{Signer: s}, Base: base}
	return func(d *store.Delivery, t campaigns.Tracking, html, unsub string, now time.Time) string {
		return rw.Rewrite(html, tracking.Message{DeliveryID: d.ID, CustomerID: d.CustomerID, Campaign: d.CampaignID,
			SentAt: now, UnsubscribeURL: unsub}, t)
	}
}

// mountTracking serves the tracked links and the open pixel (/c/, /o/);
// their hits are written by rt.tracker, which the runtime closes (writing
// what is queued) after the HTTP server has stopped.
func (a *app) mountTracking(mux *openapi.Mux, rt *runtime) error {
	if rt.tracker == nil {
		rt.tracker = tracking.NewRecorder(tracking.RecorderOptions{Store: rt.st, Reactor: rt.queue, Logger: a.log})
		rec := rt.tracker
		rt.closers = append(rt.closers, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := rec.Close(ctx); err != nil {
				a.log.Error("tracking: hits not written at shutdown", "err", err)
			}
		})
	}
	window := a.cfg.TrackingMachineWindow()
	if window == 0 {
		window = -1 // 0 in the configuration turns the rule off
	}
	h, err := tracking.Handler(tracking.Options{Tokens: tracking.Tokens{Signer: rt.signer}, Recorder: rt.tracker,
		MachineWindow: window, TrustedProxies: a.cfg.TrustedProxies(), Logger: a.log})
	if err != nil {
		return err
	}
	mountRoutes(mux, h, h)
	return nil
}

// httpServer serves the public endpoints (unsubscribe, inbound SMS) and the
// health checks.
func (a *app) httpServer(rt *runtime) (*http.Server, error) {
	twilioToken, inboundSecret, noInbound := a.cfg.inboundSMS()
	answers := triggers.Answers{Store: rt.st, Reactor: rt.queue, Logger: a.log}
	var optIn unsubscribe.OptIn
	if a.cfg.DoubleOptIn != "" {
		optIn = rt.engine
	}
	unsub, err := unsubscribe.Handler(unsubscribe.Options{Store: rt.st, Signer: rt.signer, Logger: a.log, OptIn: optIn,
		PublicURL: a.cfg.PublicURL, TwilioAuthToken: twilioToken, InboundSecret: inboundSecret, Topics: a.cfg.TopicList(),
		Surveys: survey.Replies{Store: rt.st, SurveyOf: rt.engine.SurveyOf, Answers: answers, Logger: a.log}})
	if err != nil {
		return nil, err
	}
	answerPage, err := survey.Handler(survey.Options{Store: rt.st, Signer: rt.signer, Answers: answers,
		PublicURL: a.cfg.PublicURL, Logger: a.log})
	if err != nil {
		return nil, err
	}
	mux := &openapi.Mux{}
	mountRoutes(mux, unsub, unsub) // /u/, /p/, /confirm/ and /v1/sms/inbound when configured
	mountRoutes(mux, answerPage, answerPage)
	if err := a.mountTracking(mux, rt); err != nil {
		return nil, err
	}
	if noInbound != "" {
		a.log.Warn(noInbound)
	}
	doc, err := openapi.Handler()
	if err != nil {
		return nil, err
	}
	mux.Handle("GET "+openapi.Path, doc)
	if a.cfg.WebhookSecret != "" {
		wh, err := triggers.NewWebhook(triggers.WebhookOptions{Secrets: a.cfg.WebhookSecret, Store: rt.st,
			Reactor: rt.queue, Logger: a.log, Metrics: triggers.NewWebhookMetrics(rt.metrics)})
		if err != nil {
			return nil, err
		}
		for _, p := range []string{triggers.PathEvents, triggers.PathEventsBatch, triggers.PathPurchase, triggers.PathPurchaseBatch} {
			mux.Handle("POST "+p, wh)
		}
		mux.Handle("POST /v1/events/", wh) // a mistyped path gets the API's JSON 404 naming the right ones
		v, err := triggers.NewVerifier(a.cfg.WebhookSecret)
		if err != nil {
			return nil, err
		}
		signed := admin.Signed(rt.engine, v, a.log)
		mountRoutes(mux, signed, signed)
	} else {
		a.log.Warn("TIDINGS_WEBHOOK_SECRET is not set: the events API (/v1/events, /v1/events/purchase) the profile writes (PUT /v1/customers) and POST /v1/send are disabled")
	}
	if a.cfg.AdminToken != "" {
		api := admin.Handler(rt.engine, a.log)
		mountRoutes(mux, api, a.adminOnly(api))
	} else {
		a.log.Warn("TIDINGS_ADMIN_TOKEN is not set: the admin API (/v1/campaigns) is disabled and /metrics answers anyone")
	}
	if err := a.mountFeedback(mux, rt); err != nil {
		return nil, err
	}
	if err := a.mountDashboard(mux, rt); err != nil {
		return nil, err
	}
	mux.Handle("GET /metrics", a.adminOnly(promhttp.HandlerFor(rt.metrics, promhttp.HandlerOpts{})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", readyz(rt, a.isAdmin))
	mux.Handle("/v1/", openapi.NotFound(&mux.ServeMux))
	return &http.Server{Addr: a.cfg.HTTPAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}, nil
}

// mountRoutes mounts h on each pattern the router r serves (h is r, or r
// behind a credential check), so the server's mux lists every route: the
// OpenAPI test holds the document to that list.
func mountRoutes(mux *openapi.Mux, r openapi.Router, h http.Handler) {
	for _, p := range r.Patterns() {
		mux.Handle(p, h)
	}
}

// readiness is the /readyz answer. Broken campaign files (or a broken edit
// of the policy file) make it "degraded", still 200: the process is ready and runs every valid campaign
// (a 503 would take a node out of service for one typo); the list says
// which files to fix and which campaigns run their last valid version.
type readiness struct {
	Status      string              `json:"status"`            // ready, degraded or unavailable
	Problem     string              `json:"problem,omitempty"` // why unavailable
	Campaigns   int                 `json:"campaigns"`         // loaded and running
	BrokenFiles []worker.BrokenFile `json:"broken_campaign_files"`
	// BrokenPolicy is the policy file when its last edit did not load (the
	// policy in force is its last valid version).
	BrokenPolicy *worker.BrokenFile `json:"broken_policy,omitempty"`
}

// readyz answers 200 with a readiness JSON while the database and Redis
// answer, 503 with the unreachable one otherwise. /readyz needs no login
// (load balancers probe it), so a caller without the admin token sees the
// broken files' names only: their folder and problem text stay with the
// operator (the admin token, the dashboard, the log).
func readyz(rt *runtime, isAdmin func(*http.Request) bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		broken, policy := rt.engine.BrokenCampaignFiles(), rt.engine.BrokenPolicy()
		if !isAdmin(r) {
			broken = namesOnly(broken)
			if policy != nil {
				policy = &namesOnly([]worker.BrokenFile{*policy})[0]
			}
		}
		res, code := readiness{Status: "ready", BrokenFiles: broken, BrokenPolicy: policy}, http.StatusOK
		res.Campaigns = len(rt.engine.Campaigns())
		if len(res.BrokenFiles) > 0 || res.BrokenPolicy != nil {
			res.Status = "degraded"
		}
		if res.BrokenFiles == nil {
			res.BrokenFiles = []worker.BrokenFile{}
		}
		if err := rt.st.Ping(ctx); err != nil {
			res.Status, res.Problem, code = "unavailable", "database unreachable", http.StatusServiceUnavailable
		} else if err := rt.rdb.Ping(ctx).Err(); err != nil {
			res.Status, res.Problem, code = "unavailable", "redis unreachable", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(res)
	}
}

// namesOnly is broken with each file reduced to its base name and no
// problem text.
func namesOnly(broken []worker.BrokenFile) []worker.BrokenFile {
	out := make([]worker.BrokenFile, len(broken))
	for i, b := range broken {
		out[i] = worker.BrokenFile{File: filepath.Base(b.File), More: len(b.Problems) + b.More, Kept: b.Kept}
	}
	return out
}

// isAdmin reports whether r carries the admin token; with no token
// configured everyone is (the admin surface is then off or open by choice).
func (a *app) isAdmin(r *http.Request) bool {
	token := a.cfg.AdminToken
	return token == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) == 1
}

// adminOnly requires "Authorization: Bearer <TIDINGS_ADMIN_TOKEN>" when an
// admin token is configured (compared in constant time).
func (a *app) adminOnly(h http.Handler) http.Handler {
	token := a.cfg.AdminToken
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.isAdmin(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tidings"`)
			http.Error(w, "admin token required: send the header Authorization: Bearer <TIDINGS_ADMIN_TOKEN>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
