package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tidings-crm/tidings/channels/unsubscribe"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/triggers"
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

// httpServer serves the public endpoints (unsubscribe, inbound SMS) and the
// health checks.
func (a *app) httpServer(rt *runtime) (*http.Server, error) {
	unsub, err := unsubscribe.Handler(unsubscribe.Options{Store: rt.st, Signer: rt.signer, Logger: a.log,
		PublicURL: a.cfg.PublicURL, TwilioAuthToken: a.cfg.SMSToken})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/u/", unsub)
	mux.Handle("/v1/sms/inbound", unsub)
	if a.cfg.WebhookSecret != "" {
		wh, err := triggers.NewWebhook(triggers.WebhookOptions{Secrets: a.cfg.WebhookSecret, Store: rt.st,
			Reactor: &worker.Enqueuer{Client: rt.client}, Logger: a.log, Metrics: triggers.NewWebhookMetrics(rt.metrics)})
		if err != nil {
			return nil, err
		}
		mux.Handle("POST /v1/events/", wh)
	} else {
		a.log.Warn("TIDINGS_WEBHOOK_SECRET is not set: the purchase webhook /v1/events/purchase is disabled")
	}
	if a.cfg.AdminToken != "" {
		admin := a.adminOnly(rt.engine.AdminHandler())
		mux.Handle("/v1/campaigns", admin)
		mux.Handle("/v1/campaigns/", admin)
	} else {
		a.log.Warn("TIDINGS_ADMIN_TOKEN is not set: the admin API (/v1/campaigns) is disabled and /metrics answers anyone")
	}
	if err := a.mountDashboard(mux, rt); err != nil {
		return nil, err
	}
	mux.Handle("GET /metrics", a.adminOnly(promhttp.HandlerFor(rt.metrics, promhttp.HandlerOpts{})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := rt.st.Ping(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		if err := rt.rdb.Ping(ctx).Err(); err != nil {
			http.Error(w, "redis unreachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	return &http.Server{Addr: a.cfg.HTTPAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}, nil
}

// adminOnly requires "Authorization: Bearer <TIDINGS_ADMIN_TOKEN>" when an
// admin token is configured (compared in constant time).
func (a *app) adminOnly(h http.Handler) http.Handler {
	token := a.cfg.AdminToken
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tidings"`)
			http.Error(w, "admin token required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
