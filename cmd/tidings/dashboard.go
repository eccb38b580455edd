package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"

	"github.com/tidings-crm/tidings/web/dashboard"
	"github.com/tidings-crm/tidings/web/openapi"
	"github.com/tidings-crm/tidings/worker/redisconn"
)

// monitoringPath is where the asynqmon UI is served.
const monitoringPath = "/monitoring"

// mountDashboard serves the dashboard at /dashboard and asynqmon at
// /monitoring, both behind the admin token (Bearer header or the
// dashboard's login cookie). Without a token neither is served.
func (a *app) mountDashboard(mux *openapi.Mux, rt *runtime) error {
	if a.cfg.AdminToken == "" {
		a.log.Warn("TIDINGS_ADMIN_TOKEN is not set: the dashboard (/dashboard) and queue monitor (/monitoring) are disabled")
		return nil
	}
	dash, err := dashboard.New(dashboard.Options{Source: rt.engine, Files: rt.engine, Hooks: rt.st, Customers: rt.st, Token: a.cfg.AdminToken, Logger: a.log,
		MonitoringPath: monitoringPath, Revocations: redisRevocations{rt.rdb}, Surveys: rt.engine})
	if err != nil {
		return err
	}
	mux.Handle("/dashboard", dash)
	mux.Handle("/dashboard/", dash)
	conn, err := redisconn.AsynqOpt(rt.rdb, 4)
	if err != nil {
		return fmt.Errorf("monitoring: %w", err)
	}
	mon := asynqmon.New(asynqmon.Options{RootPath: monitoringPath, RedisConnOpt: conn})
	rt.closers = append(rt.closers, func() { mon.Close() })
	mux.Handle(monitoringPath, dash.Protect(mon))
	mux.Handle(monitoringPath+"/", dash.Protect(mon))
	return nil
}

// redisRevocations keeps the dashboard sessions ended by logout in Redis,
// each until it would have expired, so every serve process refuses them.
type redisRevocations struct{ rdb redis.UniversalClient }

const revokedPrefix = "tidings:dashboard:revoked:"

func (r redisRevocations) Revoke(ctx context.Context, session string, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	return r.rdb.Set(ctx, revokedPrefix+session, "1", ttl).Err()
}

func (r redisRevocations) Revoked(ctx context.Context, session string) (bool, error) {
	n, err := r.rdb.Exists(ctx, revokedPrefix+session).Result()
	return n > 0, err
}
